import type { FinishEvent } from '../../state-machines/contract.js';
import type { CoreDeps } from './deps.js';
import { NotFoundError } from './errors.js';
import type { Json } from './model.js';
import { MICROS_PER_USD } from './pricing.js';
import type { RunStatus } from './run-records.js';

/**
 * Close a run once, whatever ended it: record the outcome and the answer (the
 * output of the workflow's last step), write the final trail event, emit the
 * run's metrics. A repeated invocation changes nothing.
 */
export async function finishRun(event: FinishEvent, deps: CoreDeps): Promise<{ runId: string; status: RunStatus }> {
  const meta = await deps.store.getRun(event.runId);
  if (!meta) throw new NotFoundError(`run ${event.runId} does not exist`);
  const workflow = deps.workflows.get(meta.workflow);
  let status: RunStatus;
  let answer: string | undefined;
  if (event.outcome === 'succeeded') {
    status = 'SUCCEEDED';
    const last = workflow?.steps.at(-1);
    if (last) {
      const outputs = await deps.store.getStepOutputs(event.runId, [last.id]);
      const out = outputs[last.id];
      if (out !== undefined) answer = typeof out === 'string' ? out : JSON.stringify(out);
    }
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
    ...(event.error ? { error: `${event.error}: ${event.cause ?? ''}` } : {}),
  });
  if (!changed) return { runId: event.runId, status: meta.status };
  const outcome: Record<string, Json> = { type: 'run_finished', outcome: event.outcome };
  if (event.reason) outcome.reason = event.reason;
  if (event.detail ?? event.error) outcome.detail = event.detail ?? `${event.error}: ${event.cause ?? ''}`;
  await deps.store.appendEvent(event.runId, outcome as unknown as Parameters<typeof deps.store.appendEvent>[1]);
  const ledger = await deps.store.getLedger(event.runId);
  const dims = { workflow: meta.workflow };
  if (ledger) {
    deps.metrics.count('RunTokens', ledger.tokensUsed, dims);
    deps.metrics.count('RunCostUsd', ledger.costUsedMicros / MICROS_PER_USD, dims, 'None');
    deps.metrics.count('RunSteps', ledger.stepsUsed, dims);
  }
  if (status !== 'SUCCEEDED') deps.metrics.count('RunsStopped', 1, { reason: event.reason ?? event.error ?? 'Failed' });
  return { runId: event.runId, status };
}
