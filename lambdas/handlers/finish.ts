import { type FinishEvent, finishEventSchema } from '../../state-machines/contract.js';
import { finishRun } from '../core/finish.js';
import { type Env, coreDeps } from '../config.js';
import { eventParser, fromProcessEnv } from './parse-event.js';

const parse = eventParser<FinishEvent>(finishEventSchema, 'finish');

/** Close a run and emit its metrics. */
export function createHandler(env: Env) {
  const deps = coreDeps(env, 'finish');
  return async (event: unknown) => finishRun(parse(event), deps);
}

export const handler = fromProcessEnv(createHandler);
