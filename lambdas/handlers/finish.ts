import { type FinishEvent, finishEventSchema } from '../../state-machines/contract.js';
import type { Workflow } from '../../state-machines/workflow.js';
import type { Env } from '../config.js';
import { finishRun } from '../core/finish.js';
import { eventParser } from './parse-event.js';
import { coreDeps } from './wire/store.js';

const parse = eventParser<FinishEvent>(finishEventSchema, 'finish');

/** Close a run and emit its metrics. */
/** `app`: the workflows to serve (the application's workflows module, bound by its generated entry). */
export function createHandler(env: Env, app: readonly Workflow[]) {
  const deps = coreDeps(env, 'finish', app);
  return async (event: unknown) => finishRun(parse(event), deps);
}
