import { type AgentStepEvent, agentStepEventSchema } from '../../state-machines/contract.js';
import { runAgentStep } from '../core/agent-step.js';
import { type Env, alerts, approvalStore, coreDeps, modelClient, newId, secrets } from '../config.js';
import { eventParser, fromProcessEnv } from './parse-event.js';

const parse = eventParser<AgentStepEvent>(agentStepEventSchema, 'agent step');

/** One model call of an agent step. */
export function createHandler(env: Env) {
  const base = coreDeps(env, 'agent-step');
  const model = modelClient(env, secrets(env));
  const deps = async () => ({ ...base, model: await model, alerts: alerts(env), approvals: approvalStore(env, base.db), newId });
  return async (event: unknown) => runAgentStep(parse(event), await deps());
}

export const handler = fromProcessEnv(createHandler);
