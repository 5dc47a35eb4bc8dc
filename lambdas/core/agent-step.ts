import type { AgentAction, AgentStepEvent, ToolCallRef } from '../../state-machines/contract.js';
import type { AgentStep } from '../../state-machines/steps.js';
import { worstCaseSeconds } from '../../state-machines/tool.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { openApproval } from './approval-gate.js';
import type { ApprovalStore } from './approval-records.js';
import { checkToolCalls } from './call-checks.js';
import { nextUserMessage, textOf, toolUsesOf } from './conversation.js';
import { dailyCapsFor, reserveCaps, settleCaps } from './daily-caps.js';
import type { AlertPublisher, CoreDeps } from './deps.js';
import { ChaperoneError, NotFoundError, ValidationError } from './errors.js';
import type { Json, ModelClient, ModelRequest, ToolSpec } from './model.js';
import { costMicros, MICROS_PER_USD, priceOf, worstCaseCostMicros } from './pricing.js';
import type { Ledger, RunMeta, StoredMessage } from './run-records.js';
import { estimateInputTokens } from './token-estimate.js';

export interface AgentStepDeps extends CoreDeps {
  model: ModelClient;
  alerts: AlertPublisher;
  approvals: ApprovalStore;
  newId: () => string;
}

/** Seconds added to a tool's worst case for the Task's TimeoutSeconds backstop. */
const TASK_TIMEOUT_MARGIN_SECONDS = 10;

/**
 * One agent iteration: load the conversation, reserve the worst case from the
 * ledger, call the model once, settle, check every requested tool call
 * (registered? valid? allowed? looping?) and say what the state machine does
 * next. Idempotent per (run, step, iteration): a retried invocation returns the
 * recorded action and never calls the model twice.
 */
export async function runAgentStep(event: AgentStepEvent, deps: AgentStepDeps): Promise<AgentAction> {
  const { store, clock } = deps;
  const recorded = await store.getAction(event.runId, event.step, event.iteration);
  if (recorded) return recorded;

  const meta = await store.getRun(event.runId);
  if (!meta) throw new NotFoundError(`run ${event.runId} does not exist`);
  const workflow = deps.workflows.get(meta.workflow);
  if (!workflow) throw new NotFoundError(`workflow ${meta.workflow} of run ${event.runId} is not deployed`);
  const step = workflow.stepsById.get(event.step);
  if (step?.kind !== 'agent')
    throw new ValidationError(`step ${event.step} of ${workflow.name} is not an agent step`, '/step');

  const decide = async (action: AgentAction): Promise<AgentAction> => {
    await store.putAction(event.runId, event.step, event.iteration, action);
    return action;
  };

  const history = await store.listMessages(event.runId, step.id);
  const userMessage = await nextUserMessage(store, meta, step, history);
  await store.putMessage(event.runId, step.id, { iteration: event.iteration, message: userMessage }, 'user');

  if (clock.now() >= meta.deadline) {
    return decide(stop('TimeLimitExceeded', `time limit of ${workflow.limits.timeLimitSeconds} s reached`));
  }

  const agentDef = step.agent;
  const price = priceOf(agentDef.model);
  if (!price) throw new ValidationError(`model ${agentDef.model} is not in the price table`, '/model');
  const tools: ToolSpec[] = agentDef.tools.map((t) => ({
    name: t.name,
    description: t.description,
    input_schema: t.input as { [key: string]: Json },
  }));
  const messages = [...history.map((h) => h.message), userMessage];
  const inputBound = estimateInputTokens(agentDef.system, tools, history, [userMessage]);
  const reservation = {
    tokens: inputBound + agentDef.maxTokens,
    costMicros: worstCaseCostMicros(price, inputBound, agentDef.maxTokens),
    steps: 1,
  };
  const reserved = await store.reserve(event.runId, reservation);
  if (!reserved.ok) {
    await store.appendEvent(event.runId, {
      type: 'budget_refused',
      step: step.id,
      limit: reserved.limit,
      requested: { tokens: reservation.tokens, costUsd: reservation.costMicros / MICROS_PER_USD },
      ledger: ledgerFigures(reserved.ledger),
    });
    deps.metrics.count('GuardrailRejections', 1, { rule: `budget_${reserved.limit}` });
    return decide(refusal(reserved.limit, reserved.ledger, reservation));
  }

  const caps = dailyCapsFor(workflow, meta, clock.now());
  const capRefusal = await reserveCaps(store, caps, reservation);
  if (capRefusal) {
    await store.settle(event.runId, reservation, { tokens: 0, costMicros: 0 });
    await store.appendEvent(event.runId, {
      type: 'budget_refused',
      step: step.id,
      limit: capRefusal.includes('token') ? 'tokens' : 'cost',
      requested: { tokens: reservation.tokens, costUsd: reservation.costMicros / MICROS_PER_USD },
      ledger: { dailyCap: capRefusal },
    });
    deps.metrics.count('GuardrailRejections', 1, { rule: 'budget_daily_cap' });
    return decide(stop('BudgetExceeded', capRefusal));
  }

  const request: ModelRequest = {
    model: agentDef.model,
    system: agentDef.system,
    messages,
    tools,
    maxTokens: agentDef.maxTokens,
    // One conversation per agent step: parallel agents of one run are told apart.
    runId: `${event.runId}:${step.id}`,
  };
  const started = clock.now();
  let response: Awaited<ReturnType<ModelClient['call']>>;
  try {
    response = await deps.model.call(request);
  } catch (err) {
    await store.settle(event.runId, reservation, { tokens: 0, costMicros: 0 });
    await settleCaps(store, caps, reservation, { tokens: 0, costMicros: 0 });
    await store.appendEvent(event.runId, {
      type: 'model_call',
      step: step.id,
      iteration: event.iteration,
      model: agentDef.model,
      status: 'error',
      toolsOffered: tools.map((t) => t.name),
      toolsChosen: [],
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      costUsd: 0,
      reservedTokens: reservation.tokens,
      durationMs: clock.now() - started,
      error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
    });
    // Named errors go to Step Functions, which retries only the retryable ones.
    if (err instanceof ChaperoneError) throw err;
    throw new ValidationError(`model call failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const used = {
    tokens:
      response.usage.inputTokens +
      response.usage.outputTokens +
      response.usage.cacheReadInputTokens +
      response.usage.cacheCreationInputTokens,
    costMicros: costMicros(price, response.usage),
  };
  const ledger = await store.settle(event.runId, reservation, used);
  await settleCaps(store, caps, reservation, used);
  const assistant: StoredMessage = {
    iteration: event.iteration,
    message: { role: 'assistant', content: response.content },
    inputTokens:
      response.usage.inputTokens +
      response.usage.cacheReadInputTokens +
      response.usage.cacheCreationInputTokens,
    outputTokens: response.usage.outputTokens,
  };
  await store.putMessage(event.runId, step.id, assistant, 'assistant');
  const uses = toolUsesOf(assistant.message);
  await store.appendEvent(event.runId, {
    type: 'model_call',
    step: step.id,
    iteration: event.iteration,
    model: response.model,
    status: 'ok',
    toolsOffered: tools.map((t) => t.name),
    toolsChosen: uses.map((u) => u.name),
    stopReason: response.stopReason,
    text: textOf(assistant.message).slice(0, 2000),
    inputTokens: response.usage.inputTokens,
    outputTokens: response.usage.outputTokens,
    cacheReadTokens: response.usage.cacheReadInputTokens,
    cacheWriteTokens: response.usage.cacheCreationInputTokens,
    costUsd: used.costMicros / MICROS_PER_USD,
    reservedTokens: reservation.tokens,
    durationMs: clock.now() - started,
    response: response.content as unknown as Json,
  });
  deps.metrics.count('ModelCalls', 1, { workflow: workflow.name });

  if (uses.length === 0) {
    const answer = textOf(assistant.message);
    await store.putStepOutput(event.runId, step.id, answer);
    await store.appendEvent(event.runId, {
      type: 'step_output',
      step: step.id,
      output: answer.slice(0, 4000),
    });
    return decide({ kind: 'final' });
  }

  const checked = await checkToolCalls({
    deps,
    workflow,
    step,
    meta,
    history,
    uses,
    iteration: event.iteration,
  });
  if (checked.stop) return decide(checked.stop);

  const refs: ToolCallRef[] = checked.accepted.map((call) => {
    const tool = step.agent.tool(call.tool);
    const fallback = tool?.fallback ? step.agent.tool(tool.fallback) : undefined;
    return {
      toolUseId: call.toolUseId,
      tool: call.tool,
      turn: event.iteration,
      timeoutSeconds: (tool ? worstCaseSeconds(tool, fallback) : 60) + TASK_TIMEOUT_MARGIN_SECONDS,
    };
  });
  const gated = checked.accepted.filter((c) => step.agent.tool(c.tool)?.approval);
  if (gated.length > 0) {
    return decide(
      await openApproval({
        deps,
        workflow,
        step,
        meta,
        gated,
        refs,
        reason: textOf(assistant.message),
        ledger,
      }),
    );
  }
  return decide({ kind: 'tools', calls: refs });
}

function stop(reason: string, detail: string): AgentAction {
  return { kind: 'stop', reason, detail };
}

function refusal(
  limit: 'tokens' | 'cost' | 'steps',
  ledger: Ledger,
  want: { tokens: number; costMicros: number },
): AgentAction {
  if (limit === 'steps') {
    return stop(
      'StepLimitExceeded',
      `step limit reached: ${ledger.stepsUsed} of ${ledger.stepLimit} agent steps used`,
    );
  }
  if (limit === 'tokens') {
    return stop(
      'BudgetExceeded',
      `token budget: ${ledger.tokensUsed} of ${ledger.tokenLimit} tokens used (${ledger.tokensRemaining} left); the next call could use up to ${want.tokens}`,
    );
  }
  return stop(
    'BudgetExceeded',
    `cost budget: $${(ledger.costUsedMicros / MICROS_PER_USD).toFixed(4)} of $${(ledger.costLimitMicros / MICROS_PER_USD).toFixed(2)} used; the next call could cost up to $${(want.costMicros / MICROS_PER_USD).toFixed(4)}`,
  );
}

/** A ledger's figures as used/limit pairs. */
export function ledgerFigures(l: Ledger): Json {
  return {
    tokens: { used: l.tokensUsed, limit: l.tokenLimit, remaining: l.tokensRemaining },
    costUsd: { used: l.costUsedMicros / MICROS_PER_USD, limit: l.costLimitMicros / MICROS_PER_USD },
    steps: { used: l.stepsUsed, limit: l.stepLimit },
    toolFailures: { count: l.toolFailures, limit: l.toolFailureLimit },
  };
}

export type { AgentStep, RunMeta, Workflow };
