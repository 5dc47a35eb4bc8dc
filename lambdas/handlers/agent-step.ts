import { type AgentStepEvent, agentStepEventSchema } from '../../state-machines/contract.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { bedrockGuardrailsFromEnv } from '../adapters/bedrock-guardrails.js';
import { type Env, newId } from '../config.js';
import { type AgentStepDeps, runAgentStep } from '../core/agent-step.js';
import { memoryDeps } from '../memory-config.js';
import { eventParser } from './parse-event.js';
import { snsAlerts } from './wire/alerts.js';
import { modelClient } from './wire/model.js';
import { secretReader } from './wire/secrets.js';
import { approvalStore, coreDeps } from './wire/store.js';

const parse = eventParser<AgentStepEvent>(agentStepEventSchema, 'agent step');

/** One model call of an agent step. */
/** `app`: the workflows to serve (the application's workflows module, bound by its generated entry). */
export function createHandler(env: Env, app: readonly Workflow[]) {
  // Built once per container: every invocation shares these clients.
  const base = coreDeps(env, 'agent-step', app);
  const deps: AgentStepDeps = {
    ...base,
    model: modelClient(env, secretReader(env)),
    ...bedrockGuardrailsFromEnv(env),
    alerts: snsAlerts(env),
    approvals: approvalStore(env, base.db),
    newId,
    memory: memoryDeps(env, base.db),
    // Step Functions' history limit, lowered only by tests.
    ...(env.CHAPERONE_HISTORY_EVENT_LIMIT
      ? { historyEventLimit: Number(env.CHAPERONE_HISTORY_EVENT_LIMIT) }
      : {}),
  };
  return async (event: unknown) => runAgentStep(parse(event), deps);
}
