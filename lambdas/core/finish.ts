import type { FinishEvent } from '../../state-machines/contract.js';
import type { Step } from '../../state-machines/steps.js';
import { eventIds } from './claims.js';
import type { CoreDeps } from './deps.js';
import { causeSummary } from './error-cause.js';
import { NotFoundError, PriceTableError } from './errors.js';
import { type MemoryDeps, rememberRun } from './memory/context.js';
import type { Json } from './model.js';
import { offloaderFor } from './offload.js';
import type { WorkflowEngine } from './ports.js';
import { MICROS_PER_USD } from './pricing.js';
import type { RunStatus, TrailEvent } from './run-records.js';
import { pendingWrite, runCost, usageSnapshot } from './usage.js';

/** What closing a run uses: the core parts, and the engine to count the execution's history. */
export interface FinishDeps extends CoreDeps {
  /** Absent (tests that run the handler alone): transitions are not counted. */
  engine?: Pick<WorkflowEngine, 'historyFigures'> | undefined;
  /** The Region priced when no invocation of the run was metered. @default 'us-east-1' */
  pricingRegion?: string;
}

/**
 * States the execution enters after the finish task, by outcome (the compiled
 * shape: \`Record success\` → \`Done\`; \`Record stop\` / \`Record failure\` →
 * \`Stop reason?\` → the Fail state): they are billed too, and are not in the
 * history yet when the finish task reads it.
 */
const STATES_AFTER_FINISH = { succeeded: 1, stopped: 2, failed: 2 } as const;

/**
 * Close a run once, whatever ended it: record the outcome and the answer (the
 * output of the workflow's last step), write the final trail event, emit the
 * run's metrics, and record its episode when the workflow keeps episodic
 * memory. A repeated invocation changes nothing.
 */
export async function finishRun(
  event: FinishEvent,
  deps: FinishDeps & { memory?: MemoryDeps | undefined },
): Promise<{ runId: string; status: RunStatus }> {
  const meta = await deps.store.getRun(event.runId);
  if (!meta) throw new NotFoundError(`run ${event.runId} does not exist`);
  const workflow = deps.workflows.get(meta.workflow);
  let status: RunStatus;
  let answer: string | undefined;
  if (event.outcome === 'succeeded') {
    status = 'SUCCEEDED';
    const last = workflow?.steps.at(-1);
    const out = last ? await outputOf(last, event.runId, deps) : undefined;
    if (out !== undefined) answer = typeof out === 'string' ? out : JSON.stringify(out);
  } else if (event.outcome === 'stopped') {
    status = event.reason === 'ApprovalRejected' ? 'REJECTED' : 'STOPPED';
  } else {
    status = 'FAILED';
  }
  const changed = await deps.store.closeRun(event.runId, {
    status,
    ...(answer !== undefined ? { answer } : {}),
    ...(event.reason ? { stopReason: event.reason } : {}),
    ...(event.detail ? { stopDetail: event.detail } : {}),
    ...(event.error ? { error: `${event.error}: ${causeSummary(event.cause)}` } : {}),
  });
  // Whatever ended the run, no reservation outlives it: a call that failed, or whose
  // turn was never recorded, gives its reservation back here (its claim never completes).
  const state = await deps.store.getLedgerState(event.runId);
  const open = Object.keys(state?.open ?? {});
  for (const key of open) await deps.store.settle(event.runId, key, { tokens: 0, costMicros: 0 });
  const outcome: Record<string, Json> = { type: 'run_finished', outcome: event.outcome };
  if (event.reason) outcome.reason = event.reason;
  if (event.detail ?? event.error)
    outcome.detail = event.detail ?? `${event.error}: ${causeSummary(event.cause)}`;
  // The execution's transitions, from its history (the finish task's own included), plus the
  // states it enters after this task: what Step Functions bills for the run.
  const history = meta.executionArn ? await deps.engine?.historyFigures(meta.executionArn) : undefined;
  if (history)
    outcome.execution = {
      transitions: history.transitions + STATES_AFTER_FINISH[event.outcome],
      historyEvents: history.events,
    };
  const finished = outcome as unknown as TrailEvent;
  // Read before the last write, so this invocation's snapshot counts every request it made; read
  // again only when settling the open reservations changed it.
  const ledger = !changed
    ? undefined
    : open.length > 0
      ? await deps.store.getLedger(event.runId)
      : state?.ledger;
  const trail = changed ? await deps.store.listEvents(event.runId) : [];
  const usage = usageSnapshot(pendingWrite(finished));
  if (usage) finished.usage = usage;
  // Written once under its fixed id, also by a retry after a crash that closed the run first.
  await deps.store.appendEvent(event.runId, eventIds.runFinished(), finished);
  // Also on a retry after a crash that closed the run first: the episode is written once.
  await rememberRun(
    {
      runId: event.runId,
      status,
      workflow,
      now: new Date(deps.clock.now()).toISOString(),
      store: deps.store,
    },
    deps.memory,
    deps.log,
  );
  if (!changed) return { runId: event.runId, status: meta.status };
  const dims = { workflow: meta.workflow };
  if (ledger) {
    deps.metrics.count('RunTokens', ledger.tokensUsed, dims);
    deps.metrics.count('RunSteps', ledger.stepsUsed, dims);
  }
  // The whole cost: model tokens and every AWS service the run used, summed over its trail.
  try {
    const all = [...trail.filter((e) => e.id !== eventIds.runFinished()), finished];
    const { cost } = runCost(all, deps.pricingRegion ?? 'us-east-1');
    deps.metrics.count('RunCostUsd', cost.total, dims, 'None');
    // `billedService`, not `service`: every metric's `service` dimension is `chaperone` (observability.ts).
    for (const [service, usd] of Object.entries(cost))
      if (service !== 'total')
        deps.metrics.count('RunServiceCostUsd', usd, { ...dims, billedService: service }, 'None');
  } catch (err) {
    // An unpriced Region (an environment-agnostic stack deployed where the table has no prices)
    // leaves the figure out; it never fails the run.
    if (!(err instanceof PriceTableError)) throw err;
    deps.log.warn('run cost not priced', { runId: event.runId, reason: err.message });
    if (ledger) deps.metrics.count('RunModelCostUsd', ledger.costUsedMicros / MICROS_PER_USD, dims, 'None');
  }
  // Designed stops and platform failures are different metrics: only the latter pages a human.
  if (event.outcome === 'stopped')
    deps.metrics.count('RunsStopped', 1, { reason: event.reason ?? 'Stopped' });
  if (event.outcome === 'failed') deps.metrics.count('RunsFailed', 1, { error: event.error ?? 'Failed' });
  return { runId: event.runId, status };
}

/**
 * The output a step leaves behind: its own, the chosen branch's for a route,
 * the last step's for a chain, every branch's for a parallel step.
 */
async function outputOf(step: Step, runId: string, deps: CoreDeps): Promise<Json | undefined> {
  switch (step.kind) {
    case 'chain': {
      const last = step.steps.at(-1);
      return last ? outputOf(last, runId, deps) : undefined;
    }
    case 'parallel': {
      const out: Record<string, Json> = {};
      for (const branch of step.branches) {
        const v = await outputOf(branch, runId, deps);
        if (v !== undefined) out[branch.id] = v;
      }
      return out;
    }
    case 'route': {
      const chosen = await outputFor(runId, step.id, deps);
      const key = chosen && typeof chosen === 'object' && !Array.isArray(chosen) ? chosen.branch : undefined;
      const branch = typeof key === 'string' ? step.branches[key] : undefined;
      return branch ? outputOf(branch, runId, deps) : undefined;
    }
    case 'approval':
      return undefined;
    default:
      return await outputFor(runId, step.id, deps);
  }
}

/** A step's recorded output, read back from the payload bucket when it was offloaded. */
async function outputFor(runId: string, stepId: string, deps: CoreDeps): Promise<Json | undefined> {
  const value = (await deps.store.getStepOutputs(runId, [stepId]))[stepId];
  if (value === undefined) return undefined;
  return offloaderFor(runId, deps.payloads, deps.offloadThresholdBytes).resolve(value);
}
