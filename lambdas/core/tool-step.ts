import type { Agent } from '../../state-machines/agent.js';
import {
  INLINE_RESULT_MAX_BYTES,
  type ToolCallRef,
  type ToolStepEvent,
  type ToolStepResult,
} from '../../state-machines/contract.js';
import { describeErrors } from '../../state-machines/schema.js';
import { type Tool, worstCaseSeconds } from '../../state-machines/tool.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { type ApprovalCheck, checkApproval, openUnknownOutcome } from './approval-check.js';
import type { ApprovalStore } from './approval-records.js';
import { type BreakerStore, circuitOf, warmBreakers } from './breakers.js';
import { utf8Bytes } from './canonical.js';
import { claimKeys, completeOnce, eventIds, unclaimedFirstAttempt } from './claims.js';
import type { AlertPublisher, CoreDeps } from './deps.js';
import { ClaimBusyError, CorruptRecordError, NotFoundError, ValidationError } from './errors.js';
import { screenToolResult } from './guardrails/tool-output.js';
import { jsonOf } from './json-value.js';
import type { Json } from './model.js';
import { isOffloaded, offloaderFor } from './offload.js';
import type { Claim, Completion, PendingCall, RunFacts } from './run-records.js';
import { sha256 } from './sha256.js';
import { type Attempt, runWithRetries, type ToolExecutor } from './tool-runner.js';
import { trimResult } from './trim.js';
import { pendingCompletion, stampUsage } from './usage.js';
import { runMetaOf } from './warm.js';

export interface ToolStepDeps extends CoreDeps {
  breakers: BreakerStore;
  alerts: AlertPublisher;
  /** Read to check a gated call's approval; written to ask about an unknown outcome. */
  approvals: ApprovalStore;
  /** Where a tool attempt runs. @default in this process */
  execute?: ToolExecutor | undefined;
  random?: () => number;
}

/**
 * Run one accepted tool call: circuit check, hard timeout per attempt, retries
 * with backoff and the error fed back, then the fallback tool or a structured
 * error the model can act on; trim the result, record it once, count failures
 * against the run's breaker.
 *
 * Claim-first (see `claims.ts`): the call's claim is begun right before the
 * tool runs and completed with its result and trail event in one write (a
 * read tool's ungated call, which has no effect to fence, skips the begin:
 * one write per call, and a retry runs it again until it is complete). A
 * retry returns a completed claim's result. One that finds an attempt begun
 * and not completed knows the tool may have acted: an idempotent tool runs
 * again with the same idempotency key; any other is not run again until a
 * human, asked through an approval, says so. A gated call runs only when its
 * approval record says approved, by an allowed approver, for exactly these
 * arguments.
 */
export async function runToolStep(event: ToolStepEvent, deps: ToolStepDeps): Promise<ToolStepResult> {
  const { store, clock } = deps;
  const { runId, step: stepId, call } = event;
  const key = claimKeys.tool(stepId, call.toolUseId);
  const meta = await runMetaOf(store, runId);
  if (!meta) throw new NotFoundError(`run ${runId} does not exist`);
  const workflow = deps.workflows.get(meta.workflow);
  const agent = workflow?.agentOf(stepId);
  if (!workflow || !agent)
    throw new NotFoundError(`step ${stepId} of workflow ${meta.workflow} is not an agent step`);
  const named = agent.tool(call.tool);
  // The accepted arguments travel with the call from the agent step. A gated call's are read
  // from its record: those are the ones its approval is checked against.
  const pending: PendingCall | undefined =
    named?.approval || call.args === undefined
      ? await store.getPendingCall(runId, stepId, call.toolUseId)
      : { toolUseId: call.toolUseId, tool: call.tool, args: call.args as Json, turn: call.turn };
  if (!pending) throw new NotFoundError(`tool call ${call.toolUseId} of run ${runId} was never accepted`);
  const tool = agent.tool(pending.tool);
  if (!tool || pending.tool !== call.tool)
    throw new ValidationError(`tool ${pending.tool} is not a tool of agent ${agent.name}`, '/call/tool');
  const ctx: CallContext = { ref: call, deps, meta, workflow, agent, tool, pending, stepId, key };

  if (tool.approval) {
    const verdict = await checkApproval(deps.approvals, pending, runId, stepId);
    if (!verdict.ok) {
      const claim = await store.getClaim(runId, key);
      if (claim?.state === 'done') return afterDone(parseToolResult(claim.result), runId, deps);
      return blockBypass(ctx, verdict);
    }
  }

  const breakers = warmBreakers(deps.breakers);
  let circuit = circuitOf(await breakers.get(tool.name), tool.breaker.failureThreshold, clock.now());
  if (circuit === 'half-open') {
    // One trial call decides; every other caller meanwhile sees the circuit open.
    const trialMs = (worstCaseSeconds(tool) + 5) * 1000;
    if (!(await breakers.claimTrial(tool.name, clock.now(), clock.now() + trialMs))) circuit = 'open';
  }
  // A read tool has no effect to fence: with no gate and the circuit closed, its first attempt
  // does not claim the call before it runs, and the completion is still written once. A Task
  // retry (an earlier attempt may have completed it) claims first, so a completed call is not
  // run again; one that finds a begun claim runs it again (read tools are idempotent).
  if (unclaimedFirstAttempt(tool) && circuit === 'closed' && !event.retry)
    return runClaimed(ctx, { unclaimed: true });
  // The first attempt claims in the same request that tells it about an earlier one.
  const claimed =
    circuit === 'open'
      ? await store.getClaim(runId, key).then((c) => (c ? { existing: c } : undefined))
      : await store.claimFirst(runId, key);
  if (claimed && 'existing' in claimed) {
    const seen = claimed.existing;
    if (seen.state === 'done') return afterDone(parseToolResult(seen.result), runId, deps);
    // An earlier attempt began and did not complete: it may have had its effect.
    const human = await resolveUnknownOutcome(ctx, seen);
    if (human) return human;
    if (circuit === 'open') return runClaimed(ctx, { circuitOpen: true });
    const began = await store.beginClaim(runId, key, seen);
    if (!began)
      throw new ClaimBusyError(
        `tool call ${pending.toolUseId} of run ${runId}: another attempt got there first`,
      );
    return runClaimed(ctx, { began });
  }
  if (!claimed) return runClaimed(ctx, { circuitOpen: true });
  return runClaimed(ctx, { began: claimed.began });
}

interface CallContext {
  /** The call as the state machine sent it (what runs it again after a human's answer). */
  ref: ToolCallRef;
  deps: ToolStepDeps;
  meta: RunFacts;
  workflow: Workflow;
  agent: Agent;
  tool: Tool;
  pending: PendingCall;
  stepId: string;
  key: string;
}

/**
 * For a call whose earlier attempt's outcome is unknown: undefined when it may
 * run again now (the tool is idempotent, or a human approved running it again);
 * otherwise what the state machine does instead (ask a human, or the answer a
 * human already gave).
 */
async function resolveUnknownOutcome(ctx: CallContext, claim: Claim): Promise<ToolStepResult | undefined> {
  const { deps, meta, pending, stepId, key, tool } = ctx;
  const runId = meta.runId;
  const answered = (await deps.store.getToolResults(runId, stepId, [pending.toolUseId])).get(
    pending.toolUseId,
  );
  if (answered) {
    // A human decided not to run it again: that answer is its result.
    const result: ToolStepResult = { kind: 'done', status: 'error' };
    await deps.store.completeClaim(runId, key, { result });
    return result;
  }
  if (claim.approvalId) {
    const verdict = await checkApproval(deps.approvals, pending, runId, stepId, claim.approvalId);
    if (verdict.ok) return undefined;
    if (verdict.status === 'pending' && !(await deps.approvals.get(claim.approvalId))?.taskToken) {
      // Asked, but the gate never waited on it (the attempt that asked died before the state
      // machine heard, or a sibling's question went first): ask through the gate again.
      return {
        kind: 'approval',
        approvalId: claim.approvalId,
        timeoutSeconds: ctx.workflow.approvals?.timeoutSeconds ?? 86_400,
        call: ctx.ref,
      };
    }
    if (verdict.status !== 'pending') {
      throw new CorruptRecordError(
        `tool call ${pending.toolUseId}: approval ${claim.approvalId} is ${verdict.status} but left no result`,
      );
    }
    return blockBypass(ctx, verdict);
  }
  if (tool.idempotent) return undefined;
  const round = (claim.askedRounds ?? 0) + 1;
  const asked = await openUnknownOutcome(deps, ctx.workflow, meta, stepId, pending, claim, round);
  await deps.store.askAboutClaim(runId, key, asked.approvalId, round);
  deps.metrics.count('OutcomesUnknown', 1, { tool: tool.name });
  return { ...asked, call: ctx.ref };
}

/**
 * Run the tool (and its fallback) under a begun claim (or none, for a read
 * tool), or record that its circuit is open; complete the claim with what
 * happened.
 */
async function runClaimed(
  ctx: CallContext,
  state: { began: Claim } | { unclaimed: true } | { circuitOpen: true },
): Promise<ToolStepResult> {
  const { deps, meta, agent, tool, pending, stepId, key } = ctx;
  const { store, clock } = deps;
  const runId = meta.runId;
  const breakers = warmBreakers(deps.breakers);
  const idempotencyKey = idempotencyKeyOf(runId, stepId, pending.toolUseId);
  const started = clock.now();
  let status: 'ok' | 'error' | 'fallback' | 'circuit_open';
  let value: unknown;
  let attempts: Attempt[] = [];
  let fallbackTool: string | undefined;
  let failure: string | undefined;

  if ('circuitOpen' in state) {
    failure = `the circuit for ${tool.name} is open after repeated failures across runs; it was not called`;
    status = 'circuit_open';
  } else {
    const outcome = await runWithRetries(tool, pending.args, {
      runId,
      idempotencyKey,
      clock,
      ...(deps.execute ? { execute: deps.execute } : {}),
      ...(deps.random ? { random: deps.random } : {}),
    });
    attempts = outcome.attempts;
    if (outcome.ok) {
      status = 'ok';
      value = outcome.value;
      await breakers.recordSuccess(tool.name);
    } else {
      failure = outcome.error;
      status = 'error';
      await breakers.recordFailure(
        tool.name,
        tool.breaker.failureThreshold,
        clock.now() + tool.breaker.cooldownSeconds * 1000,
      );
      if (outcome.unknown && 'began' in state) {
        // It may have acted: no fallback, no "failed" for the model; the claim stays acting and a
        // human says whether it happened.
        const asked = await resolveUnknownOutcome(ctx, state.began);
        if (asked) return asked;
      }
    }
  }

  if (status !== 'ok' && tool.fallback) {
    const fb = agent.tool(tool.fallback) as Tool;
    if (!fb.validate(pending.args)) {
      failure = `${failure}; fallback ${fb.name} refused the arguments: ${describeErrors(fb.validate.errors)}`;
    } else {
      const outcome = await runWithRetries(fb, pending.args, {
        runId,
        idempotencyKey: idempotencyKeyOf(runId, stepId, pending.toolUseId, fb.name),
        clock,
        ...(deps.execute ? { execute: deps.execute } : {}),
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
  const result: ToolStepResult = { kind: 'done', status: status === 'circuit_open' ? 'error' : status };
  // Untrusted data: screened, spotlighted, quarantined or redacted before the model sees it.
  const screened = screenToolResult({
    runId,
    step: stepId,
    toolUseId: pending.toolUseId,
    tool: tool.name,
    content: content.content,
    mode: agent.untrustedResults,
  });
  // A result above the threshold is kept in the payload bucket and recorded as a reference; the
  // full result of a trimmed one is kept there too, for the trail (offload.ts).
  const offloader = offloaderFor(runId, deps.payloads, deps.offloadThresholdBytes);
  const recorded = await offloader.offloadText(
    eventIds.toolCall(stepId, pending.toolUseId),
    screened.content,
  );
  const fullResult =
    succeeded && content.trimmed && deps.payloads
      ? await offloader.keep(
          `full#${eventIds.toolCall(stepId, pending.toolUseId)}`,
          jsonOf(value, `${tool.name}'s result`),
        )
      : undefined;
  const completion: Completion = {
    result,
    results: [{ step: stepId, toolUseId: pending.toolUseId, content: recorded, isError: !succeeded }],
    events: [
      {
        id: eventIds.toolCall(stepId, pending.toolUseId),
        event: {
          type: 'tool_call',
          step: stepId,
          toolUseId: pending.toolUseId,
          tool: tool.name,
          args: pending.args,
          status,
          attempts,
          ...(fallbackTool ? { fallbackTool } : {}),
          result: recorded,
          ...(fullResult ? { fullResult } : {}),
          resultBytes: content.bytes,
          originalBytes: content.originalBytes,
          trimmed: content.trimmed,
          durationMs: clock.now() - started,
        },
      },
      ...screened.events,
    ],
    ...(succeeded ? {} : { failedCall: pending.toolUseId }),
  };
  // The invocation's usage rides on its tool_call event, counting this write (usage.ts).
  const [callEvent] = completion.events ?? [];
  if (callEvent) stampUsage(callEvent.event, pendingCompletion(completion));
  const done = await completeOnce(store, runId, key, completion);
  // A concurrent attempt that completed first: its result is the one the model reads.
  if (!done.first) return afterDone(parseToolResult(done.result), runId, deps);
  deps.metrics.count('ToolCalls', 1, { tool: tool.name });
  if (screened.rule) deps.metrics.count('GuardrailRejections', 1, { rule: screened.rule });
  if (!succeeded) deps.metrics.count('ToolCallFailures', 1, { tool: tool.name });
  // At most this call's share of the turn's inline bytes, so a Map of many results stays far under 256 KiB.
  const travels =
    utf8Bytes(JSON.stringify(screened.content)) <= (ctx.ref.inlineMaxBytes ?? INLINE_RESULT_MAX_BYTES) &&
    !isOffloaded(recorded);
  return afterDone(
    travels
      ? { ...result, toolUseId: pending.toolUseId, content: screened.content, isError: !succeeded }
      : result,
    runId,
    deps,
    { tool: tool.name, failure, workflow: meta.workflow },
  );
}

/**
 * A failed call counts against the run's breaker; the count is on the ledger,
 * once per call, so a retried step sees the same verdict.
 */
async function afterDone(
  result: ToolStepResult,
  runId: string,
  deps: ToolStepDeps,
  first?: { tool: string; failure: string | undefined; workflow: string },
): Promise<ToolStepResult> {
  if (result.kind !== 'done' || result.status !== 'error') return result;
  const ledger = await deps.store.getLedger(runId);
  if (!ledger || ledger.toolFailures < ledger.toolFailureLimit) return result;
  const detail = `${ledger.toolFailures} tool calls failed in this run (breaker threshold ${ledger.toolFailureLimit})${first ? `; last: ${first.tool}: ${first.failure}` : ''}`;
  if (first) {
    await deps.alerts.publish({
      subject: `Chaperone: run ${runId} stopped, cascading tool failures`,
      message: JSON.stringify({ runId, workflow: first.workflow, detail } satisfies Record<string, Json>),
      attributes: { rule: 'workflow_breaker', workflow: first.workflow, severity: 'medium' },
    });
  }
  return { kind: 'stop', reason: 'CircuitOpen', detail };
}

/**
 * A gated call whose approval does not hold (no decision through the approval
 * API, another approver, other arguments): nothing runs. The gate is marked
 * bypassed so no later click counts, the trail and the alert topic say what
 * happened, and the run stops as a policy violation.
 */
async function blockBypass(
  ctx: CallContext,
  verdict: Extract<ApprovalCheck, { ok: false }>,
): Promise<ToolStepResult> {
  const { deps, meta, tool, pending, stepId, key } = ctx;
  const runId = meta.runId;
  const detail = `${tool.name} (tool call ${pending.toolUseId}) was not run: ${verdict.reason}`;
  if (verdict.approvalId && verdict.status === 'pending')
    await deps.approvals.markBypassed(verdict.approvalId, detail, new Date(deps.clock.now()).toISOString());
  const result: ToolStepResult = { kind: 'stop', reason: 'PolicyViolation', detail };
  const completion: Completion = {
    result,
    results: [
      {
        step: stepId,
        toolUseId: pending.toolUseId,
        content: `Blocked: ${detail}. This call was not run and has been reported.`,
        isError: true,
      },
    ],
    events: [
      {
        id: eventIds.guardrail('approval_bypass', stepId, pending.toolUseId),
        event: { type: 'guardrail', rule: 'approval_bypass', message: detail, step: stepId },
      },
      {
        id: eventIds.toolRejected(stepId, pending.toolUseId),
        event: {
          type: 'tool_rejected',
          step: stepId,
          toolUseId: pending.toolUseId,
          tool: tool.name,
          args: pending.args,
          rule: 'policy',
          message: detail,
        },
      },
    ],
  };
  const [guard] = completion.events ?? [];
  if (guard) stampUsage(guard.event, pendingCompletion(completion));
  await deps.store.completeClaim(runId, key, completion);
  deps.metrics.count('GuardrailRejections', 1, { rule: 'approval_bypass' });
  await deps.alerts.publish({
    subject: `Chaperone: approval bypassed in run ${runId}`,
    message: JSON.stringify({ runId, workflow: meta.workflow, step: stepId, tool: tool.name, detail }),
    attributes: { rule: 'approval_bypass', workflow: meta.workflow, severity: 'high' },
  });
  return result;
}

const RESULT_KINDS = ['done', 'stop', 'approval'];

/** A completed claim's result, checked: a stored shape we do not know is refused by name. */
function parseToolResult(value: Json | undefined): ToolStepResult {
  const kind = value && typeof value === 'object' && !Array.isArray(value) ? value.kind : undefined;
  if (typeof kind !== 'string' || !RESULT_KINDS.includes(kind))
    throw new CorruptRecordError(
      `the recorded tool step result ${JSON.stringify(value)} is not one of ${RESULT_KINDS.join(', ')}`,
    );
  return value as unknown as ToolStepResult;
}

/**
 * The idempotency key a tool receives: a digest of the run, the step and the
 * model's tool call id (plus the fallback's name when the fallback runs), so it
 * is the same on every retry and restart of this one call.
 */
export function idempotencyKeyOf(runId: string, step: string, toolUseId: string, fallback?: string): string {
  const h = sha256(`${runId}\u0000${step}\u0000${toolUseId}\u0000${fallback ?? ''}`, 'base64url');
  return `chp_${h.slice(0, 32)}`;
}
