import type { ApprovalRecord } from '../approval-records.js';
import type { Json } from '../model.js';
import type { StoredTrailEvent } from '../run-records.js';
import type { ApiAnswer, ConsoleDeps, ListedRun } from './run-list.js';
import { runRow } from './run-list.js';

/** How many of the newest runs the charts read the trails of. */
export const CHARTED_RUNS = 200;
const BUCKETS_MS = [60_000, 300_000, 900_000, 3_600_000, 21_600_000, 86_400_000];
const MAX_BUCKETS = 24;

/**
 * The rule a trail event counts a guardrail rejection under, or undefined.
 * The same rules the `GuardrailRejections` metric is emitted with (a
 * rejection by the approver is a human's decision, not a guardrail's).
 */
export function rejectionRule(e: StoredTrailEvent): string | undefined {
  if (e.type === 'tool_rejected') return e.rule === 'approval_rejected' ? undefined : e.rule;
  if (e.type === 'budget_refused') return `budget_${e.limit}`;
  if (e.type === 'guardrail') return e.rule;
  return undefined;
}

/** p-th percentile (nearest rank) of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? null;
}

/** A histogram of values in `bins` equal-width bins (at least one). */
export function histogram(
  values: readonly number[],
  bins = 8,
): Array<{ from: number; to: number; count: number }> {
  if (values.length === 0) return [];
  const min = Math.min(...values);
  const max = Math.max(...values);
  const width = max > min ? (max - min) / bins : 1;
  const n = max > min ? bins : 1;
  const out = Array.from({ length: n }, (_, i) => ({
    from: min + i * width,
    to: min + (i + 1) * width,
    count: 0,
  }));
  for (const v of values) {
    const i = Math.min(n - 1, Math.floor((v - min) / width));
    const bin = out[i];
    if (bin) bin.count++;
  }
  return out;
}

interface Bucket {
  start: string;
  tools: Record<string, { calls: number; ok: number }>;
  rejections: Record<string, number>;
  checked: number;
  /** Cost (USD) and steps of the ended runs that started in the bucket. */
  costs: number[];
  steps: number[];
}

/**
 * `GET /console/metrics`: the seed's four metrics over the newest runs'
 * trails — cost per run and steps per run (distribution, percentiles, and
 * percentiles per time bucket of the runs' start), tool success rate by tool
 * and guardrail rejection rate by rule per time bucket. The rejection rate is rejections over checked actions (model
 * calls, tool calls and the rejections themselves), as on the dashboard.
 */
export async function consoleMetrics(deps: Pick<ConsoleDeps, 'runList' | 'store'>): Promise<ApiAnswer> {
  const runs: ListedRun[] = await deps.runList.listRuns(CHARTED_RUNS);
  const trails = await Promise.all(runs.map((r) => deps.store.listEvents(r.meta.runId)));
  const times = runs.map((r) => Date.parse(r.meta.createdAt)).filter(Number.isFinite);
  const first = times.length ? Math.min(...times) : 0;
  const last = times.length ? Math.max(...times) : 0;
  const size = BUCKETS_MS.find((b) => (last - first) / b < MAX_BUCKETS) ?? 86_400_000;
  const origin = Math.floor(first / size) * size;
  const buckets = new Map<number, Bucket>();
  const bucketOf = (at: string): Bucket => {
    const t = Number.isFinite(Date.parse(at)) ? Date.parse(at) : first;
    const key = Math.floor((t - origin) / size);
    let b = buckets.get(key);
    if (!b) {
      b = {
        start: new Date(origin + key * size).toISOString(),
        tools: {},
        rejections: {},
        checked: 0,
        costs: [],
        steps: [],
      };
      buckets.set(key, b);
    }
    return b;
  };
  const toolTotals: Record<string, { calls: number; ok: number }> = {};
  const ruleTotals: Record<string, number> = {};
  let checked = 0;
  trails.forEach((trail) => {
    for (const e of trail) {
      const b = bucketOf(e.at);
      if (e.type === 'tool_call') {
        const ok = e.status === 'ok' || e.status === 'fallback' ? 1 : 0;
        b.tools[e.tool] = tally(b.tools[e.tool], ok);
        toolTotals[e.tool] = tally(toolTotals[e.tool], ok);
        b.checked++;
        checked++;
      } else if (e.type === 'model_call' && e.status === 'ok') {
        b.checked++;
        checked++;
      }
      const rule = rejectionRule(e);
      if (rule) {
        b.rejections[rule] = (b.rejections[rule] ?? 0) + 1;
        ruleTotals[rule] = (ruleTotals[rule] ?? 0) + 1;
        b.checked++;
        checked++;
      }
    }
  });
  const ended = runs.filter((r) => r.meta.status !== 'RUNNING' && r.ledger);
  const costOf = (r: ListedRun) => (r.ledger?.costUsedMicros ?? 0) / 1_000_000;
  const stepsOf = (r: ListedRun) => r.ledger?.stepsUsed ?? 0;
  for (const r of ended) {
    const b = bucketOf(r.meta.createdAt);
    b.costs.push(costOf(r));
    b.steps.push(stepsOf(r));
  }
  const costs = ended.map(costOf).sort((a, b) => a - b);
  const steps = ended.map(stepsOf).sort((a, b) => a - b);
  const pct = (values: number[]) => {
    const v = [...values].sort((a, b) => a - b);
    return { p50: percentile(v, 50), p90: percentile(v, 90), p99: percentile(v, 99) };
  };
  const body = {
    runs: runs.length,
    bucketMs: size,
    costPerRun: { ...pct(costs), histogram: histogram(costs) },
    stepsPerRun: { ...pct(steps), histogram: histogram(steps) },
    perRun: ended.map(runRow),
    toolSuccess: Object.fromEntries(
      Object.entries(toolTotals).map(([tool, t]) => [tool, { ...t, rate: t.ok / t.calls }]),
    ),
    rejections: { byRule: ruleTotals, checked, rate: checked ? sum(ruleTotals) / checked : 0 },
    buckets: [...buckets.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, b]) => ({
        start: b.start,
        toolSuccessRate: Object.fromEntries(
          Object.entries(b.tools).map(([tool, t]) => [tool, t.ok / t.calls]),
        ),
        rejectionRate: Object.fromEntries(
          Object.entries(b.rejections).map(([rule, n]) => [rule, b.checked ? n / b.checked : 0]),
        ),
        checked: b.checked,
        // The distributions over time: percentiles of the runs that started in the bucket.
        runs: b.costs.length,
        costPerRun: pct(b.costs),
        stepsPerRun: pct(b.steps),
      })),
  };
  return { status: 200, body: body as unknown as Json };
}

function tally(t: { calls: number; ok: number } | undefined, ok: number): { calls: number; ok: number } {
  return { calls: (t?.calls ?? 0) + 1, ok: (t?.ok ?? 0) + ok };
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/**
 * What the console shows of an approval: what its approvers are shown (the
 * summary, the model's reason, every gated call with its arguments) and, once
 * decided, who decided, when and how. Never the task token, a link or its
 * signature.
 */
export function approvalView(a: ApprovalRecord): Record<string, Json> {
  const view: Record<string, Json> = {
    approvalId: a.approvalId,
    kind: a.kind ?? (a.calls.length ? 'tools' : 'step'),
    status: a.status,
    runId: a.runId,
    workflow: a.workflow,
    step: a.step,
    summary: a.summary,
    reason: a.reason,
    approvers: a.approvers,
    createdAt: a.createdAt,
    expiresAt: new Date(a.expiresAt).toISOString(),
    calls: a.calls.map((c) => ({ tool: c.tool, access: c.access, args: c.args })),
  };
  if (a.escalated) view.escalatedTo = a.escalateTo;
  if (a.decidedBy) view.decidedBy = a.decidedBy;
  if (a.decidedAt) view.decidedAt = a.decidedAt;
  if (a.comment) view.comment = a.comment;
  return view;
}

/** The query `GET /console/approvals` understands. */
export const APPROVAL_FILTERS = ['id'] as const;

/**
 * `GET /console/approvals`: what waits for a human, with what each approver
 * is shown; `?id=<approvalId>` one approval in any status (the run timeline
 * shows what was asked and who decided). An unknown key or approval is named.
 */
export async function consoleApprovals(
  query: Record<string, string | undefined>,
  deps: Pick<ConsoleDeps, 'approvals'>,
): Promise<ApiAnswer> {
  for (const key of Object.keys(query))
    if (!(APPROVAL_FILTERS as readonly string[]).includes(key))
      return {
        status: 400,
        body: {
          error: 'ValidationError',
          field: `/${key}`,
          message: `unknown filter "${key}"; the filters are ${APPROVAL_FILTERS.join(', ')}`,
        },
      };
  const { id } = query;
  if (id !== undefined) {
    const record = id !== '' && id.length <= 300 ? await deps.approvals.get(id) : undefined;
    if (!record)
      return {
        status: 404,
        body: {
          error: 'NotFoundError',
          field: '/id',
          message: `approval ${id.slice(0, 120)} does not exist`,
        },
      };
    return { status: 200, body: { approvals: [approvalView(record)] } };
  }
  const items = await deps.approvals.listByStatus('pending', 100);
  return { status: 200, body: { approvals: items.map(approvalView) } };
}
