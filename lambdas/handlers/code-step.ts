import { type CodeStepEvent, codeStepEventSchema } from '../../state-machines/contract.js';
import { runCodeStep } from '../core/code-step.js';
import { type Env, coreDeps } from '../config.js';
import { eventParser, fromProcessEnv } from './parse-event.js';

const parse = eventParser<CodeStepEvent>(codeStepEventSchema, 'code step');

/** A code step or a route's chooser. */
export function createHandler(env: Env) {
  const deps = coreDeps(env, 'code-step');
  return async (event: unknown) => runCodeStep(parse(event), deps);
}

export const handler = fromProcessEnv(createHandler);
