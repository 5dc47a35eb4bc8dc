import type { DescribeExecutionOutput, ExecutionStatus } from '@aws-sdk/client-sfn';
import { SfnApiError } from './errors.js';
import { type ExecutionRun, TERMINAL } from './execution.js';
import { JOURNAL_CORRUPT_ERROR } from './journal-errors.js';

/** DescribeExecution output for a run. */
export function describeRun(run: ExecutionRun): DescribeExecutionOutput {
  const meta = run.meta;
  const end = run.terminalEvent();
  const out: DescribeExecutionOutput = {
    executionArn: meta.executionArn,
    stateMachineArn: meta.stateMachineArn,
    name: meta.name,
    status: (end ? TERMINAL[end.type] : 'RUNNING') as ExecutionStatus,
    startDate: new Date(meta.startDate),
    input: meta.input,
    inputDetails: { included: true },
  };
  const damage = run.journal.damage;
  if (damage) {
    // Not resumed: reported as failed, naming the file and line, whatever the good prefix says.
    out.status = 'FAILED';
    out.stopDate = damage.at;
    out.error = JOURNAL_CORRUPT_ERROR;
    out.cause = damage.error.message;
    return out;
  }
  if (!meta.executionArn.includes(':express:')) {
    out.redriveCount = run.redriveCount;
    if (run.redriveCount > 0) out.redriveDate = new Date(run.driveStartMs);
    const refused = redriveRefusal(run);
    out.redriveStatus = refused ? 'NOT_REDRIVABLE' : 'REDRIVABLE';
    if (refused) out.redriveStatusReason = refused;
  }
  if (end) {
    out.stopDate = end.timestamp;
    const d =
      (end as unknown as Record<string, Record<string, unknown> | undefined>)[
        `${end.type.charAt(0).toLowerCase()}${end.type.slice(1)}EventDetails`
      ] ?? {};
    if (typeof d.output === 'string') {
      out.output = d.output;
      out.outputDetails = { included: true };
    }
    if (typeof d.error === 'string') out.error = d.error;
    if (typeof d.cause === 'string') out.cause = d.cause;
  }
  return out;
}

/** Why `RedriveExecution` would refuse this execution (AWS's reasons), or undefined when it can be redriven. */
export function redriveRefusal(run: ExecutionRun): string | undefined {
  if (run.meta.executionArn.includes(':express:')) return 'Express executions cannot be redriven';
  if (run.journal.damage) return `Execution journal is damaged: ${run.journal.damage.error.message}`;
  const end = run.terminalEvent();
  if (!end) return 'Execution is RUNNING and cannot be redriven';
  if (end.type === 'ExecutionSucceeded') return 'Execution is SUCCEEDED and cannot be redriven';
  return undefined;
}

/** Pages a list with an opaque offset token. */
export function pageOf<T>(
  items: T[],
  maxResults: number | undefined,
  nextToken: string | undefined,
): { items: T[]; nextToken?: string } {
  let offset = 0;
  if (nextToken) {
    const n = Number(Buffer.from(nextToken, 'base64url').toString('utf8'));
    if (!Number.isInteger(n) || n < 0) throw new SfnApiError('InvalidToken', 'Invalid pagination token');
    offset = n;
  }
  const size = maxResults && maxResults > 0 ? Math.min(maxResults, 1000) : 1000;
  const slice = items.slice(offset, offset + size);
  const end = offset + slice.length;
  return end < items.length
    ? { items: slice, nextToken: Buffer.from(String(end), 'utf8').toString('base64url') }
    : { items: slice };
}
