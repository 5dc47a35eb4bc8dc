import { createHash } from 'node:crypto';
import type { ToolStepEvent, ToolStepResult } from '../../state-machines/contract.js';
import { describeErrors } from '../../state-machines/schema.js';
import { type Tool, worstCaseSeconds } from '../../state-machines/tool.js';
import { type BreakerStore, circuitOf } from './breakers.js';
import type { AlertPublisher, CoreDeps } from './deps.js';
import { NotFoundError, ValidationError } from './errors.js';
import type { Json } from './model.js';
import { type Attempt, runWithRetries } from './tool-runner.js';
import { trimResult } from './trim.js';

export interface ToolStepDeps extends CoreDeps {
  breakers: BreakerStore;
  alerts: AlertPublisher;
  random?: () => number;
}

/**
 * Run one accepted tool call: circuit check, hard timeout per attempt, retries
 * with backoff and the error fed back, then the fallback tool or a structured
 * error the model can act on; trim the result, record it once, count failures
 * against the run's breaker. Idempotent per tool call.
 */
export async function runToolStep(event: ToolStepEvent, deps: ToolStepDeps): Promise<ToolStepResult> {
  const { store, clock } = deps;
  const { runId, step: stepId, call } = event;
  const existing = await store.getToolResults(runId, stepId, [call.toolUseId]);
  if (existing.has(call.toolUseId))
    return { kind: 'done', status: existing.get(call.toolUseId)?.isError ? 'error' : 'ok' };

  const meta = await store.getRun(runId);
  if (!meta) throw new NotFoundError(`run ${runId} does not exist`);
  const agent = deps.workflows.get(meta.workflow)?.agentOf(stepId);
  if (!agent) throw new NotFoundError(`step ${stepId} of workflow ${meta.workflow} is not an agent step`);
  const pending = await store.getPendingCall(runId, stepId, call.toolUseId);
  if (!pending) throw new NotFoundError(`tool call ${call.toolUseId} of run ${runId} was never accepted`);
  const tool = agent.tool(pending.tool);
  if (!tool)
    throw new ValidationError(`tool ${pending.tool} is not a tool of agent ${agent.name}`, '/call/tool');

  const started = clock.now();
  let status: 'ok' | 'error' | 'fallback' | 'circuit_open';
  let value: unknown;
  let attempts: Attempt[] = [];
  let fallbackTool: string | undefined;
  let failure: string | undefined;

  let circuit = circuitOf(await deps.breakers.get(tool.name), tool.breaker.failureThreshold, clock.now());
  if (circuit === 'half-open') {
    // One trial call decides; every other caller meanwhile sees the circuit open.
    const trialMs = (worstCaseSeconds(tool) + 5) * 1000;
    if (!(await deps.breakers.claimTrial(tool.name, clock.now(), clock.now() + trialMs))) circuit = 'open';
  }
  if (circuit === 'open') {
    failure = `the circuit for ${tool.name} is open after repeated failures across runs; it was not called`;
    status = 'circuit_open';
  } else {
    const outcome = await runWithRetries(tool, pending.args, {
      runId,
      idempotencyKey: idempotencyKeyOf(runId, stepId, call.toolUseId),
      clock,
      ...(deps.random ? { random: deps.random } : {}),
    });
    attempts = outcome.attempts;
    if (outcome.ok) {
      status = 'ok';
      value = outcome.value;
      await deps.breakers.recordSuccess(tool.name);
    } else {
      failure = outcome.error;
      status = 'error';
      await deps.breakers.recordFailure(
        tool.name,
        tool.breaker.failureThreshold,
        clock.now() + tool.breaker.cooldownSeconds * 1000,
      );
    }
  }

  if (status !== 'ok' && tool.fallback) {
    const fb = agent.tool(tool.fallback) as Tool;
    if (!fb.validate(pending.args)) {
      failure = `${failure}; fallback ${fb.name} refused the arguments: ${describeErrors(fb.validate.errors)}`;
    } else {
      const outcome = await runWithRetries(fb, pending.args, {
        runId,
        idempotencyKey: idempotencyKeyOf(runId, stepId, call.toolUseId, fb.name),
        clock,
      });
      attempts = [...attempts, ...outcome.attempts];
      fallbackTool = fb.name;
      if (outcome.ok) {
        status = 'fallback';
        value = outcome.value;
      } else {
        failure = `${failure}; fallback ${fb.name} failed too: ${outcome.error}`;
      }
    }
  }

  const succeeded = status === 'ok' || status === 'fallback';
  const content = succeeded
    ? trimResult(
        status === 'fallback'
          ? {
              note: `${tool.name} failed (${failure}); this result comes from the fallback ${fallbackTool}`,
              result: value,
            }
          : value,
        tool.trim,
      )
    : trimResult(
        {
          error: status === 'circuit_open' ? 'CircuitOpen' : 'ToolFailed',
          tool: tool.name,
          message: failure,
          attempts: attempts.length,
          advice:
            'Do not repeat this call now. Use another tool, or answer with what you know and say what failed.',
        },
        { maxBytes: 2048 },
      );
  await store.putToolResult(runId, stepId, {
    toolUseId: call.toolUseId,
    content: content.content,
    isError: !succeeded,
  });
  await store.appendEvent(runId, {
    type: 'tool_call',
    step: stepId,
    toolUseId: call.toolUseId,
    tool: tool.name,
    args: pending.args,
    status,
    attempts,
    ...(fallbackTool ? { fallbackTool } : {}),
    result: content.content,
    resultBytes: content.bytes,
    originalBytes: content.originalBytes,
    trimmed: content.trimmed,
    durationMs: clock.now() - started,
  });
  deps.metrics.count('ToolCalls', 1, { tool: tool.name });
  if (!succeeded) {
    deps.metrics.count('ToolCallFailures', 1, { tool: tool.name });
    const failures = await store.addToolFailure(runId);
    const ledger = await store.getLedger(runId);
    if (ledger && failures >= ledger.toolFailureLimit) {
      const detail = `${failures} tool calls failed in this run (breaker threshold ${ledger.toolFailureLimit}); last: ${tool.name}: ${failure}`;
      await deps.alerts.publish({
        subject: `Chaperone: run ${runId} stopped, cascading tool failures`,
        message: JSON.stringify({ runId, workflow: meta.workflow, detail } satisfies Record<string, Json>),
        attributes: { rule: 'workflow_breaker', workflow: meta.workflow, severity: 'medium' },
      });
      return { kind: 'stop', reason: 'CircuitOpen', detail };
    }
  }
  return { kind: 'done', status: status === 'circuit_open' ? 'error' : status };
}

/**
 * The idempotency key a tool receives: a digest of the run, the step and the
 * model's tool call id (plus the fallback's name when the fallback runs), so it
 * is the same on every retry and restart of this one call.
 */
export function idempotencyKeyOf(runId: string, step: string, toolUseId: string, fallback?: string): string {
  const h = createHash('sha256').update(`${runId}\u0000${step}\u0000${toolUseId}\u0000${fallback ?? ''}`);
  return `chp_${h.digest('base64url').slice(0, 32)}`;
}
