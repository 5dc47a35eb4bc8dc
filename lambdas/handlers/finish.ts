import { type FinishEvent, finishEventSchema } from '../../state-machines/contract.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { coreDeps, type Env } from '../config.js';
import { finishRun } from '../core/finish.js';
import { eventParser, fromProcessEnv } from './parse-event.js';

const parse = eventParser<FinishEvent>(finishEventSchema, 'finish');

/** Close a run and emit its metrics. */
/** `app`: the workflows to serve (default: the application's registry, `examples/index.ts`). */
export function createHandler(env: Env, app?: readonly Workflow[]) {
  const deps = coreDeps(env, 'finish', app);
  return async (event: unknown) => finishRun(parse(event), deps);
}

export const handler = fromProcessEnv((env) => createHandler(env));
