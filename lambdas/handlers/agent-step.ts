import { type AgentStepEvent, agentStepEventSchema } from '../../state-machines/contract.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { bedrockGuardrailsFromEnv } from '../adapters/bedrock-guardrails.js';
import { alerts, approvalStore, coreDeps, type Env, modelClient, newId, secrets } from '../config.js';
import { runAgentStep } from '../core/agent-step.js';
import { eventParser } from './parse-event.js';

const parse = eventParser<AgentStepEvent>(agentStepEventSchema, 'agent step');

/** One model call of an agent step. */
/** `app`: the workflows to serve (the application's workflows module, bound by its generated entry). */
export function createHandler(env: Env, app: readonly Workflow[]) {
  const base = coreDeps(env, 'agent-step', app);
  const model = modelClient(env, secrets(env));
  const guardrails = bedrockGuardrailsFromEnv(env);
  const deps = async () => ({
    ...base,
    model,
    ...guardrails,
    alerts: alerts(env),
    approvals: approvalStore(env, base.db),
    newId,
  });
  return async (event: unknown) => runAgentStep(parse(event), await deps());
}
