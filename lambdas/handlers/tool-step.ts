import { type ToolStepEvent, toolStepEventSchema } from '../../state-machines/contract.js';
import { runToolStep } from '../core/tool-step.js';
import { type Env, alerts, breakerStore, coreDeps } from '../config.js';
import { eventParser, fromProcessEnv } from './parse-event.js';

const parse = eventParser<ToolStepEvent>(toolStepEventSchema, 'tool step');

/** One tool call: timeout, retries, fallback, breaker, trim, record. */
export function createHandler(env: Env) {
  const base = coreDeps(env, 'tool-step');
  const deps = { ...base, breakers: breakerStore(env, base.db), alerts: alerts(env) };
  return async (event: unknown) => runToolStep(parse(event), deps);
}

export const handler = fromProcessEnv(createHandler);
