import { type FinishEvent, finishEventSchema } from '../../state-machines/contract.js';
import type { Workflow } from '../../state-machines/workflow.js';
import type { Env } from '../config.js';
import { finishRun } from '../core/finish.js';
import { eventParser } from './parse-event.js';
import { sfnEngine } from './wire/engine.js';
import { coreDeps } from './wire/store.js';

const parse = eventParser<FinishEvent>(finishEventSchema, 'finish');

/** Close a run and emit its metrics. */
/** `app`: the workflows to serve (the application's workflows module, bound by its generated entry). */
export function createHandler(env: Env, app: readonly Workflow[]) {
  // The engine counts the execution's transitions for the run's cost.
  const deps = {
    ...coreDeps(env, 'finish', app),
    engine: sfnEngine(env),
    pricingRegion: env.CHAPERONE_PRICING_REGION ?? env.AWS_REGION,
  };
  return async (event: unknown) => finishRun(parse(event), deps);
}
