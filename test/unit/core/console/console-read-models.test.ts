import { describe, expect, it } from 'vitest';
import type { ApprovalRecord } from '../../../../lambdas/core/approval-records.js';
import {
  consoleApprovals,
  consoleMetrics,
  histogram,
  percentile,
} from '../../../../lambdas/core/console/console-metrics.js';
import { type ListedRun, listRuns, parseRunFilter } from '../../../../lambdas/core/console/run-list.js';
import type { Ledger, RunMeta, StoredTrailEvent } from '../../../../lambdas/core/run-records.js';

const ledger = (steps: number, costMicros: number): Ledger => ({
  tokenLimit: 1000,
  tokensRemaining: 0,
  tokensUsed: 100 * steps,
  costLimitMicros: 1_000_000,
  costRemainingMicros: 0,
  costUsedMicros: costMicros,
  stepLimit: 12,
  stepsRemaining: 0,
  stepsUsed: steps,
  toolFailureLimit: 8,
  toolFailures: 0,
});
const run = (
  runId: string,
  status: RunMeta['status'],
  createdAt: string,
  extra: Partial<RunMeta> = {},
): ListedRun => ({
  meta: {
    runId,
    workflow: 'w',
    input: { invoiceId: runId },
    status,
    createdAt,
    updatedAt: createdAt,
    deadline: 0,
    ...extra,
  },
  ledger: ledger(runId.length, 1000 * runId.length),
});
const runs = [
  run('A3', 'SUCCEEDED', '2026-12-01T10:02:00.000Z', { tenant: 'acme' }),
  run('B22', 'STOPPED', '2026-12-01T10:01:00.000Z', { stopReason: 'BudgetExceeded' }),
  run('C333', 'RUNNING', '2026-12-01T10:00:00.000Z', { workflow: 'other' }),
];
const lister = { listRuns: async (limit: number) => runs.slice(0, limit) };

describe('GET /runs filters', () => {
  it('names an unknown filter and each bad value, reading nothing', () => {
    expect(parseRunFilter({ colour: 'red' })).toMatchObject({
      ok: false,
      answer: {
        status: 400,
        body: {
          field: '/colour',
          message: 'unknown filter "colour"; the filters are status, workflow, tenant, q, limit',
        },
      },
    });
    expect(parseRunFilter({ status: 'DONE' })).toMatchObject({
      ok: false,
      answer: { body: { field: '/status' } },
    });
    expect(parseRunFilter({ limit: '0' })).toMatchObject({
      ok: false,
      answer: { body: { field: '/limit' } },
    });
    expect(parseRunFilter({ limit: '2.5' })).toMatchObject({ ok: false });
  });

  it('filters by status, workflow, tenant and a case-blind search, newest first', async () => {
    const ids = async (q: Record<string, string>) =>
      ((await listRuns(q, { runList: lister })).body as { runs: Array<{ runId: string }> }).runs.map(
        (r) => r.runId,
      );

    expect(await ids({})).toEqual(['A3', 'B22', 'C333']);
    expect(await ids({ status: 'STOPPED' })).toEqual(['B22']);
    expect(await ids({ workflow: 'other' })).toEqual(['C333']);
    expect(await ids({ tenant: 'acme' })).toEqual(['A3']);
    expect(await ids({ q: 'budgetexceeded' })).toEqual(['B22']);
    expect(await ids({ limit: '1' })).toEqual(['A3']);
  });

  it('a row has duration only once the run has ended, and cost in USD', async () => {
    const body = (await listRuns({}, { runList: lister })).body as { runs: Array<Record<string, unknown>> };
    expect(body.runs[2]).toMatchObject({
      runId: 'C333',
      durationMs: null,
      steps: 4,
      tokens: 400,
      costUsd: 0.004,
    });
    expect(body.runs[0]).toMatchObject({ durationMs: 0, tenant: 'acme' });
  });
});

describe('the charts’ figures', () => {
  it('percentiles by nearest rank, histograms over equal bins', () => {
    expect(percentile([], 50)).toBeNull();
    expect([50, 90, 99].map((p) => percentile([1, 2, 3, 4, 10], p))).toEqual([3, 10, 10]);
    expect(histogram([1, 1, 2, 5], 4).map((b) => [b.from, b.count])).toEqual([
      [1, 2],
      [2, 1],
      [3, 0],
      [4, 1],
    ]);
    expect(histogram([7, 7])).toEqual([{ from: 7, to: 8, count: 2 }]);
  });

  it('tool success rate and guardrail rejection rate from the trails, ended runs only in the distributions', async () => {
    const at = '2026-12-01T10:00:30.000Z';
    const ev = (e: Record<string, unknown>, id: string) =>
      ({ ...e, id, seq: id, at }) as unknown as StoredTrailEvent;
    const trails: Record<string, StoredTrailEvent[]> = {
      A3: [
        ev({ type: 'model_call', status: 'ok' }, '1'),
        ev({ type: 'tool_call', tool: 't', status: 'ok' }, '2'),
        ev({ type: 'tool_call', tool: 't', status: 'error' }, '3'),
        ev({ type: 'tool_rejected', rule: 'loop' }, '4'),
        ev({ type: 'tool_rejected', rule: 'approval_rejected' }, '5'),
      ],
      B22: [ev({ type: 'budget_refused', limit: 'tokens' }, '6')],
      C333: [],
    };
    const m = (
      await consoleMetrics({ runList: lister, store: { listEvents: async (id) => trails[id] ?? [] } })
    ).body as Record<string, unknown> & {
      toolSuccess: Record<string, { calls: number; ok: number; rate: number }>;
      rejections: { byRule: Record<string, number>; checked: number; rate: number };
      perRun: unknown[];
      costPerRun: { p50: number };
      buckets: Array<{
        runs: number;
        costPerRun: { p50: number | null };
        stepsPerRun: { p99: number | null };
      }>;
    };

    expect(m.toolSuccess).toEqual({ t: { calls: 2, ok: 1, rate: 0.5 } });
    expect(m.rejections.byRule).toEqual({ loop: 1, budget_tokens: 1 });
    expect(m.rejections.checked).toBe(5);
    expect(m.rejections.rate).toBe(0.4);
    expect(m.perRun).toHaveLength(2);
    expect(m.costPerRun.p50).toBe(0.002);
    // Over time, per minute of the runs' start: B22 at 10:01, A3 at 10:02 (the running C333 is not counted).
    const withRuns = m.buckets.filter((b) => b.runs > 0);
    expect(withRuns.map((b) => [b.runs, b.costPerRun.p50, b.stepsPerRun.p99])).toEqual([
      [1, 0.003, 3],
      [1, 0.002, 2],
    ]);
  });
});

describe('GET /console/approvals', () => {
  const record: ApprovalRecord = {
    approvalId: 'R1-pay',
    runId: 'R1',
    workflow: 'w',
    step: 'pay',
    status: 'approved',
    createdAt: '2026-12-01T10:00:00.000Z',
    expiresAt: Date.parse('2026-12-02T10:00:00.000Z'),
    approvers: ['ap@example.com'],
    escalateTo: [],
    escalated: false,
    onTimeout: 'reject',
    onReject: 'feedback',
    calls: [{ toolUseId: 'tu1', tool: 'pay', access: 'write', args: { amount: 10 } }],
    ungatedCallIds: [],
    refs: [],
    summary: 'Pay 10',
    reason: 'the invoice is due',
    taskToken: 'TASK-TOKEN-SECRET',
    decidedBy: 'ap@example.com',
    decidedAt: '2026-12-01T10:05:00.000Z',
    comment: 'ok',
  };
  const approvals = {
    get: async (id: string) => (id === record.approvalId ? record : undefined),
    listByStatus: async (status: string) =>
      status === 'pending' ? [{ ...record, status: 'pending' as const }] : [],
  };

  it('one approval by id with what was shown and who decided when, never its task token', async () => {
    const answer = await consoleApprovals({ id: 'R1-pay' }, { approvals });

    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      approvals: [
        {
          approvalId: 'R1-pay',
          kind: 'tools',
          status: 'approved',
          runId: 'R1',
          workflow: 'w',
          step: 'pay',
          summary: 'Pay 10',
          reason: 'the invoice is due',
          approvers: ['ap@example.com'],
          createdAt: '2026-12-01T10:00:00.000Z',
          expiresAt: '2026-12-02T10:00:00.000Z',
          calls: [{ tool: 'pay', access: 'write', args: { amount: 10 } }],
          decidedBy: 'ap@example.com',
          decidedAt: '2026-12-01T10:05:00.000Z',
          comment: 'ok',
        },
      ],
    });
    expect(JSON.stringify(await consoleApprovals({}, { approvals }))).not.toContain('TASK-TOKEN');
  });

  it('names an unknown filter and an approval that does not exist', async () => {
    expect(await consoleApprovals({ status: 'approved' }, { approvals })).toEqual({
      status: 400,
      body: {
        error: 'ValidationError',
        field: '/status',
        message: 'unknown filter "status"; the filters are id',
      },
    });
    expect(await consoleApprovals({ id: 'nope' }, { approvals })).toEqual({
      status: 404,
      body: { error: 'NotFoundError', field: '/id', message: 'approval nope does not exist' },
    });
  });
});
