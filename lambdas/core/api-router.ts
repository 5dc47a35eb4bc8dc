import { LIMIT_UNIT } from '../../state-machines/edges.js';
import { verifyLink } from './approval-links.js';
import { renderApprovalPage } from './approval-page.js';
import type { ApprovalRecord, ApprovalStatus } from './approval-records.js';
import { type ApprovalDeps, decideApproval } from './approvals.js';
import { consoleApprovals, consoleMetrics } from './console/console-metrics.js';
import {
  CONSOLE_CSP,
  CONSOLE_FILES,
  type ConsoleAssets,
  isConsoleFile,
  renderConsolePage,
} from './console/console-page.js';
import { listRuns, type RunLister } from './console/run-list.js';
import type { MemoryDeps } from './memory/context.js';
import { forgetRun, markExample } from './memory/memory-api.js';
import type { Json } from './model.js';
import { MICROS_PER_USD } from './pricing.js';
import { getRun, type RunsApiDeps, redriveRun, startRun } from './runs-api.js';

/** The HTTP request as the API sees it (API Gateway's proxy event, reduced). */
export interface ApiRequest {
  method: string;
  resource: string;
  pathParameters: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  headers: Record<string, string | undefined>;
  body: string | null;
}

export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** What the run console's routes read: the runs list and the console's static files. */
export interface ConsoleRouteDeps {
  runList: RunLister;
  consoleAssets: ConsoleAssets;
}

export type ApiDeps = RunsApiDeps & ApprovalDeps & ConsoleRouteDeps & { memory?: MemoryDeps | undefined };

const json = (statusCode: number, body: Json): ApiResponse => ({
  statusCode,
  // nosniff: a page on another site cannot load an answer as a script or style (no CORS either).
  headers: {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  },
  body: JSON.stringify(body),
});
const html = (statusCode: number, body: string): ApiResponse => ({
  statusCode,
  headers: {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  },
  body,
});

const consoleResponse = (contentType: string, body: string): ApiResponse => ({
  statusCode: 200,
  headers: {
    'content-type': contentType,
    'cache-control': 'no-store',
    'content-security-policy': CONSOLE_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  },
  body,
});

/** The run console: its page, its files, and the read models its script asks for. */
async function consoleRoute(route: string, req: ApiRequest, deps: ApiDeps): Promise<ApiResponse | undefined> {
  switch (route) {
    case 'GET /runs': {
      const r = await listRuns(req.query, deps);
      return json(r.status, r.body);
    }
    case 'GET /console':
      return consoleResponse('text/html; charset=utf-8', renderConsolePage());
    case 'GET /console/metrics': {
      const r = await consoleMetrics(deps);
      return json(r.status, r.body);
    }
    case 'GET /console/approvals': {
      const r = await consoleApprovals(req.query, deps);
      return json(r.status, r.body);
    }
    case 'GET /console/{file}': {
      const name = req.pathParameters.file ?? '';
      if (!isConsoleFile(name))
        return json(404, {
          error: 'NotFoundError',
          field: '/file',
          message: `no console file ${name}; the console serves ${Object.keys(CONSOLE_FILES).join(', ')}`,
        });
      return consoleResponse(CONSOLE_FILES[name], await deps.consoleAssets.read(name));
    }
    default:
      return undefined;
  }
}

/** Route one API request. */
export async function routeApi(req: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  const route = `${req.method.toUpperCase()} ${req.resource}`;
  switch (route) {
    case 'POST /runs': {
      const r = await startRun(req.body, deps);
      return json(r.status, r.body);
    }
    case 'GET /runs/{id}': {
      const r = await getRun(req.pathParameters.id, deps);
      return json(r.status, r.body);
    }
    case 'DELETE /runs/{id}/memory': {
      const r = await forgetRun(req.pathParameters.id, deps);
      return json(r.status, r.body);
    }
    case 'PUT /runs/{id}/memory': {
      const r = await markExample(req.pathParameters.id, req.body, deps);
      return json(r.status, r.body);
    }
    case 'POST /runs/{id}/redrive': {
      const r = await redriveRun(req.pathParameters.id, deps);
      return json(r.status, r.body);
    }
    case 'GET /approvals': {
      const status = (req.query.status ?? 'pending') as ApprovalStatus;
      if (!['pending', 'approved', 'rejected', 'expired'].includes(status)) {
        return json(400, {
          error: 'ValidationError',
          field: '/status',
          message: 'status must be pending, approved, rejected or expired',
        });
      }
      const items = await deps.approvals.listByStatus(status, 100);
      return json(200, {
        approvals: items.map((a) => ({
          approvalId: a.approvalId,
          runId: a.runId,
          workflow: a.workflow,
          step: a.step,
          status: a.status,
          summary: a.summary,
          approvers: a.approvers,
          createdAt: a.createdAt,
          expiresAt: new Date(a.expiresAt).toISOString(),
          ...(a.decidedBy ? { decidedBy: a.decidedBy } : {}),
        })),
      });
    }
    case 'GET /approvals/{id}':
    case 'POST /approvals/{id}':
      return approvalRoute(req, deps);
    default:
      return (
        (await consoleRoute(route, req, deps)) ??
        json(404, { error: 'NotFoundError', message: `no route ${route}` })
      );
  }
}

async function approvalRoute(req: ApiRequest, deps: ApiDeps): Promise<ApiResponse> {
  const id = req.pathParameters.id ?? '';
  const wantsHtml = req.method === 'GET' || (req.headers['content-type'] ?? '').includes('form-urlencoded');
  const fail = (status: number, message: string) =>
    wantsHtml
      ? html(
          status,
          `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${status}</title></head><body><h1>${status}</h1><p data-testid="error">${message.replace(/[&<>"']/g, '')}</p></body></html>`,
        )
      : json(status, {
          error:
            (
              {
                400: 'ValidationError',
                403: 'Forbidden',
                404: 'NotFoundError',
                410: 'LinkExpired',
              } as Record<number, string>
            )[status] ?? 'Conflict',
          message,
        });
  const check = verifyLink(deps.linkSecret, id, req.query, deps.clock.now());
  if (!check.ok) return fail(check.status, check.message);
  const { approver } = check.claims;
  const record = await deps.approvals.get(id);
  if (!record) return fail(404, `approval ${id} does not exist`);
  if (![...record.approvers, ...(record.escalated ? record.escalateTo : [])].includes(approver)) {
    return fail(403, `${approver} is not an approver of this request`);
  }
  const query = { approver, exp: req.query.exp ?? '', sig: req.query.sig ?? '' };
  const page = async (status: number, notice?: string) => {
    const [trail, ledger, now] = await Promise.all([
      deps.store.listEvents(record.runId),
      deps.store.getLedger(record.runId),
      deps.approvals.get(id),
    ]);
    return html(
      status,
      renderApprovalPage({
        record: now ?? record,
        approver,
        query,
        trail,
        ledger,
        ...(notice ? { notice } : {}),
      }),
    );
  };
  if (req.method === 'GET') return page(200);

  const form = parseBody(req);
  if (!form)
    return fail(400, 'the body must be a form or JSON with decision (approve|reject), comment and digest');
  const outcome = await decideApproval({ approvalId: id, approver, ...form }, deps);
  if (outcome.status !== 200) {
    return wantsHtml
      ? page(outcome.status, outcome.message)
      : json(outcome.status, {
          error:
            outcome.status === 409
              ? outcome.record?.status === 'pending'
                ? 'Conflict'
                : outcome.record?.status === 'bypassed'
                  ? 'ApprovalBypassed'
                  : 'AlreadyDecided'
              : outcome.status === 404
                ? 'NotFoundError'
                : 'ValidationError',
          message: outcome.message,
        });
  }
  const extended =
    outcome.decision === 'approved' && outcome.record.extension
      ? ` The run may use ${extensionAmount(outcome.record)} more.`
      : '';
  return wantsHtml
    ? page(200, `Thank you: ${outcome.decision}.${extended} The run goes on.`)
    : json(200, {
        approvalId: id,
        decision: outcome.decision,
        decidedBy: approver,
        decidedAt: outcome.record.decidedAt ?? '',
      });
}

/** What an approved extension granted, for people. */
function extensionAmount(record: ApprovalRecord): string {
  const ext = record.extension;
  if (!ext) return '';
  const n = record.extendBy ?? ext.by;
  return ext.limit === 'cost'
    ? `$${(n / MICROS_PER_USD).toFixed(4)}`
    : `${n.toLocaleString('en-US')} ${LIMIT_UNIT[ext.limit]}`;
}

function parseBody(
  req: ApiRequest,
): { decision: string; comment?: string; digest?: string; extendBy?: string | number } | undefined {
  if (!req.body) return undefined;
  const type = req.headers['content-type'] ?? '';
  let fields: Record<string, unknown>;
  if (type.includes('form-urlencoded')) {
    fields = Object.fromEntries(new URLSearchParams(req.body));
  } else {
    try {
      const parsed: unknown = JSON.parse(req.body);
      if (typeof parsed !== 'object' || parsed === null) return undefined;
      fields = parsed as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
  if (typeof fields.decision !== 'string') return undefined;
  return {
    decision: fields.decision,
    ...(typeof fields.comment === 'string' ? { comment: fields.comment } : {}),
    ...(typeof fields.digest === 'string' ? { digest: fields.digest } : {}),
    ...(typeof fields.extendBy === 'string' || typeof fields.extendBy === 'number'
      ? { extendBy: fields.extendBy }
      : {}),
  };
}
