import { type AgentStepEvent, agentStepEventSchema } from '../../state-machines/contract.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { alerts, approvalStore, coreDeps, type Env, modelClient, newId, secrets } from '../config.js';
import { runAgentStep } from '../core/agent-step.js';
import { memoryDeps } from '../memory-config.js';
import { eventParser } from './parse-event.js';

const parse = eventParser<AgentStepEvent>(agentStepEventSchema, 'agent step');

/** One model call of an agent step. */
/** `app`: the workflows to serve (the application's workflows module, bound by its generated entry). */
export function createHandler(env: Env, app: readonly Workflow[]) {
  const base = coreDeps(env, 'agent-step', app);
  const model = modelClient(env, secrets(env));
  const memory = memoryDeps(env, base.db);
  const deps = async () => ({
    ...base,
    model,
    alerts: alerts(env),
    approvals: approvalStore(env, base.db),
    newId,
    memory,
  });
  return async (event: unknown) => runAgentStep(parse(event), await deps());
}
