import type { ApprovalStore } from '../approval-records.js';
import type { Json } from '../model.js';
import { MICROS_PER_USD } from '../pricing.js';
import type { Ledger, RunMeta, RunStatus, StoredTrailEvent } from '../run-records.js';

/** A run with its ledger, as the console lists it. */
export interface ListedRun {
  meta: RunMeta;
  ledger?: Ledger;
}

/**
 * Every run of the Runs table (META with its LEDGER), newest first. A read
 * model for the console: the DynamoDB adapter scans `META`/`LEDGER` items.
 */
export interface RunLister {
  /** At most `limit` runs, newest first. */
  listRuns(limit: number): Promise<ListedRun[]>;
}

/** What the console's read routes need. */
export interface ConsoleDeps {
  runList: RunLister;
  store: { listEvents(runId: string): Promise<StoredTrailEvent[]> };
  approvals: Pick<ApprovalStore, 'listByStatus' | 'get'>;
}

/** The filters `GET /runs` understands. */
export const RUN_FILTERS = ['status', 'workflow', 'tenant', 'q', 'limit'] as const;
const STATUSES: readonly RunStatus[] = ['RUNNING', 'SUCCEEDED', 'STOPPED', 'FAILED', 'REJECTED'];
/** How many runs the console reads at most (newest first). */
export const MAX_LISTED_RUNS = 1000;

export interface ApiAnswer {
  status: number;
  body: Json;
}

/** A parsed, checked run filter. */
export interface RunFilter {
  status?: RunStatus;
  workflow?: string;
  tenant?: string;
  q?: string;
  limit: number;
}

/** Parse the query of `GET /runs`: an unknown key or a bad value is named, and nothing is read. */
export function parseRunFilter(
  query: Record<string, string | undefined>,
): { ok: true; filter: RunFilter } | { ok: false; answer: ApiAnswer } {
  const bad = (field: string, message: string) => ({
    ok: false as const,
    answer: { status: 400, body: { error: 'ValidationError', field: `/${field}`, message } },
  });
  for (const key of Object.keys(query)) {
    if (!(RUN_FILTERS as readonly string[]).includes(key))
      return bad(key, `unknown filter "${key}"; the filters are ${RUN_FILTERS.join(', ')}`);
  }
  const filter: RunFilter = { limit: 100 };
  const { status, workflow, tenant, q, limit } = query;
  if (status !== undefined && status !== '') {
    if (!(STATUSES as readonly string[]).includes(status))
      return bad('status', `status "${status}" is not one of ${STATUSES.join(', ')}`);
    filter.status = status as RunStatus;
  }
  if (workflow) filter.workflow = workflow;
  if (tenant) filter.tenant = tenant;
  if (q) filter.q = q.toLowerCase();
  if (limit !== undefined && limit !== '') {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 1 || n > MAX_LISTED_RUNS)
      return bad('limit', `limit must be a whole number from 1 to ${MAX_LISTED_RUNS}, got "${limit}"`);
    filter.limit = n;
  }
  return { ok: true, filter };
}

/** One row of the runs list. */
export function runRow(run: ListedRun): Record<string, Json> {
  const { meta, ledger } = run;
  const ended = meta.status !== 'RUNNING';
  const row: Record<string, Json> = {
    runId: meta.runId,
    workflow: meta.workflow,
    status: meta.status,
    startedAt: meta.createdAt,
    durationMs: ended ? Date.parse(meta.updatedAt) - Date.parse(meta.createdAt) : null,
    steps: ledger?.stepsUsed ?? null,
    tokens: ledger?.tokensUsed ?? null,
    costUsd: ledger ? ledger.costUsedMicros / MICROS_PER_USD : null,
  };
  if (meta.tenant) row.tenant = meta.tenant;
  if (meta.stopReason) row.stopReason = meta.stopReason;
  return row;
}

function matches(run: ListedRun, f: RunFilter): boolean {
  const { meta } = run;
  if (f.status && meta.status !== f.status) return false;
  if (f.workflow && meta.workflow !== f.workflow) return false;
  if (f.tenant && meta.tenant !== f.tenant) return false;
  if (f.q) {
    const hay = [meta.runId, meta.workflow, meta.tenant ?? '', meta.stopReason ?? '', meta.answer ?? '']
      .concat(JSON.stringify(meta.input))
      .join('\n')
      .toLowerCase();
    if (!hay.includes(f.q)) return false;
  }
  return true;
}

/** `GET /runs?status=&workflow=&tenant=&q=&limit=`: the runs list, newest first. */
export async function listRuns(
  query: Record<string, string | undefined>,
  deps: Pick<ConsoleDeps, 'runList'>,
): Promise<ApiAnswer> {
  const parsed = parseRunFilter(query);
  if (!parsed.ok) return parsed.answer;
  const { filter } = parsed;
  const all = await deps.runList.listRuns(MAX_LISTED_RUNS);
  const hits = all.filter((r) => matches(r, filter));
  return {
    status: 200,
    body: {
      runs: hits.slice(0, filter.limit).map(runRow),
      total: hits.length,
      workflows: [...new Set(all.map((r) => r.meta.workflow))].sort(),
      tenants: [...new Set(all.flatMap((r) => (r.meta.tenant ? [r.meta.tenant] : [])))].sort(),
    },
  };
}
