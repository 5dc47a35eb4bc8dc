import type { FinishEvent } from '../../state-machines/contract.js';
import type { Step } from '../../state-machines/steps.js';
import { eventIds } from './claims.js';
import type { CoreDeps } from './deps.js';
import { causeSummary } from './error-cause.js';
import { NotFoundError } from './errors.js';
import { type MemoryDeps, rememberRun } from './memory/context.js';
import type { Json } from './model.js';
import { MICROS_PER_USD } from './pricing.js';
import type { RunStatus } from './run-records.js';

/**
 * Close a run once, whatever ended it: record the outcome and the answer (the
 * output of the workflow's last step), write the final trail event, emit the
 * run's metrics, and record its episode when the workflow keeps episodic
 * memory. A repeated invocation changes nothing.
 */
export async function finishRun(
  event: FinishEvent,
  deps: CoreDeps & { memory?: MemoryDeps | undefined },
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
  for (const key of Object.keys(await deps.store.openReservations(event.runId)))
    await deps.store.settle(event.runId, key, { tokens: 0, costMicros: 0 });
  const outcome: Record<string, Json> = { type: 'run_finished', outcome: event.outcome };
  if (event.reason) outcome.reason = event.reason;
  if (event.detail ?? event.error)
    outcome.detail = event.detail ?? `${event.error}: ${causeSummary(event.cause)}`;
  // Written once under its fixed id, also by a retry after a crash that closed the run first.
  await deps.store.appendEvent(
    event.runId,
    eventIds.runFinished(),
    outcome as unknown as Parameters<typeof deps.store.appendEvent>[2],
  );
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
  const ledger = await deps.store.getLedger(event.runId);
  const dims = { workflow: meta.workflow };
  if (ledger) {
    deps.metrics.count('RunTokens', ledger.tokensUsed, dims);
    deps.metrics.count('RunCostUsd', ledger.costUsedMicros / MICROS_PER_USD, dims, 'None');
    deps.metrics.count('RunSteps', ledger.stepsUsed, dims);
  }
  if (status !== 'SUCCEEDED')
    deps.metrics.count('RunsStopped', 1, { reason: event.reason ?? event.error ?? 'Failed' });
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
      const chosen = (await deps.store.getStepOutputs(runId, [step.id]))[step.id];
      const key = chosen && typeof chosen === 'object' && !Array.isArray(chosen) ? chosen.branch : undefined;
      const branch = typeof key === 'string' ? step.branches[key] : undefined;
      return branch ? outputOf(branch, runId, deps) : undefined;
    }
    case 'approval':
      return undefined;
    default:
      return (await deps.store.getStepOutputs(runId, [step.id]))[step.id];
  }
}
