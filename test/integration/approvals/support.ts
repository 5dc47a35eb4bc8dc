import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { createSecretReader } from '../../../lambdas/adapters/aws-messaging.js';
import type { StoredTrailEvent } from '../../../lambdas/core/run-records.js';
import type { OutboxEmail } from '../../../local/aws/ses-outbox.js';
import { scenario, text, toolUse } from '../../../local/scripted-model/index.js';
import { type AgentHarness, proxyEvent } from '../../support/agent-harness.js';

export const APPROVER = 'ap-approver@example.com';
export const WORKFLOW = 'invoice-reconciliation';

/** What the agent asks to run at the gate, exactly. */
export const PAYMENT_ARGS = {
  invoice_id: 'INV-000101',
  amount: 1250,
  currency: 'EUR',
  scheduled_for: '2026-12-15',
};

/** The invoice agent's turns up to the gated call, then its last words. */
export function invoiceScript(name: string, finalText: string) {
  return scenario(name, [
    toolUse('lookup_invoice', { invoice_id: 'INV-000101' }),
    toolUse('find_vendor', { vendor_id: 'V-100' }),
    toolUse('schedule_payment', PAYMENT_ARGS, { text: 'The invoice is open and V-100 exists; paying it.' }),
    text(finalText),
  ]);
}

export const ofType = <T extends StoredTrailEvent['type']>(trail: StoredTrailEvent[], type: T) =>
  trail.filter((e): e is Extract<StoredTrailEvent, { type: T }> => e.type === type);

export const executionArn = (runId: string) =>
  `arn:aws:states:us-east-1:000000000000:execution:${WORKFLOW}:${runId}`;

/** Every email the local SES stand-in sends, from the moment it is created. */
export class Outbox {
  readonly emails: OutboxEmail[] = [];
  private waiters: Array<() => void> = [];

  constructor(h: AgentHarness) {
    h.services.events.on('email', (email) => {
      this.emails.push(email);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }

  /** The first email matching `match`, waiting up to `timeoutMs` for it. */
  async waitFor(match: (e: OutboxEmail) => boolean, what: string, timeoutMs = 15_000): Promise<OutboxEmail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.emails.find(match);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no email ${what} within ${timeoutMs} ms; the outbox has ${this.emails.length}: ${this.emails.map((e) => e.subject).join(' | ')}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** A run paused at the payment gate, with the email its approver received. */
export interface PausedRun {
  runId: string;
  executionArn: string;
  approvalId: string;
  email: OutboxEmail;
  /** The approval link as written in the email's text. */
  link: string;
}

/** POST /runs for INV-000101 through the API handler. */
export async function startRun(h: AgentHarness): Promise<string> {
  const res = await h.api()(
    proxyEvent(
      'POST',
      '/runs',
      {},
      JSON.stringify({ workflow: WORKFLOW, input: { invoiceId: 'INV-000101' } }),
    ),
  );
  if (res.statusCode !== 201) throw new Error(`POST /runs answered ${res.statusCode}: ${res.body}`);
  return (JSON.parse(res.body) as { runId: string }).runId;
}

/** Start a run and wait for its approval email (the run is then waiting on the gate). */
export async function pausedRun(h: AgentHarness, outbox: Outbox): Promise<PausedRun> {
  const runId = await startRun(h);
  const email = await outbox.waitFor((e) => (e.text ?? '').includes(runId), `about run ${runId}`);
  const [requested] = ofType(await h.runs.listEvents(runId), 'approval_requested');
  if (!requested) throw new Error(`run ${runId} emailed but its trail has no approval_requested`);
  const link = /https?:\/\/\S+/.exec(email.text ?? '')?.[0];
  if (!link) throw new Error(`the approval email has no link in its text: ${email.text}`);
  return { runId, executionArn: executionArn(runId), approvalId: requested.approvalId, email, link };
}

/** The HMAC key the links are signed with, read from the Secrets Manager stand-in as the handlers read it. */
export function linkSecret(h: AgentHarness): Promise<string> {
  const env = h.env;
  const arn = env.APPROVAL_SECRET_ARN;
  if (!arn) throw new Error('the harness has no APPROVAL_SECRET_ARN');
  return createSecretReader({ region: 'us-east-1', endpoint: h.services.url })(arn);
}

type ApiHandler = ReturnType<AgentHarness['api']>;

/** The proxy event API Gateway would build for a URL on the approvals API. */
export function eventFor(
  method: string,
  url: string,
  body: string | null = null,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): APIGatewayProxyEvent {
  const u = new URL(url);
  const parts = u.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let resource: string;
  let pathParameters: Record<string, string> = {};
  if (parts.length === 1) resource = `/${parts[0]}`;
  else if (parts.length === 2) {
    resource = `/${parts[0]}/{id}`;
    pathParameters = { id: parts[1] ?? '' };
  } else resource = u.pathname;
  return proxyEvent(
    method,
    resource,
    pathParameters,
    body,
    Object.fromEntries(u.searchParams),
    headers,
  ) as unknown as APIGatewayProxyEvent;
}

/** Call the API handler with a URL, as a client following a link would. */
export async function call(
  api: ApiHandler,
  method: string,
  url: string,
  body?: unknown,
): Promise<{ status: number; body: string; contentType: string }> {
  const res = await api(eventFor(method, url, body === undefined ? null : JSON.stringify(body)));
  return { status: res.statusCode, body: res.body, contentType: res.headers['content-type'] ?? '' };
}

/** The digest the approval page shows in its hidden field. */
export function digestOnPage(html: string): string {
  const m = /name="digest" value="([^"]+)"/.exec(html);
  if (!m?.[1]) throw new Error('the approval page has no digest field');
  return m[1];
}

/** A link with one query parameter replaced. */
export function withParam(link: string, name: string, value: string): string {
  const u = new URL(link);
  u.searchParams.set(name, value);
  return u.toString();
}

/**
 * The API handler behind a real HTTP server, as API Gateway puts it in front
 * of the Lambda: each request becomes a REST proxy event.
 */
export async function serveApi(): Promise<{
  url: string;
  attach(api: ApiHandler): void;
  requests: string[];
  close(): Promise<void>;
}> {
  let api: ApiHandler | undefined;
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      requests.push(`${req.method} ${req.url}`);
      if (!api) {
        res.writeHead(503).end('the API is not attached yet');
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      const out = await api(
        eventFor(req.method ?? 'GET', `http://${req.headers.host}${req.url}`, body || null, headers),
      );
      res.writeHead(out.statusCode, out.headers).end(out.body);
    })().catch((err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`bridge error: ${String(err)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    attach(handler) {
      api = handler;
    },
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * Record what the handlers' Powertools loggers write (JSON lines on stdout and
 * stderr) instead of printing it; anything else goes through untouched.
 */
export function captureLogLines(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write);
  streams.forEach((stream, i) => {
    const original = originals[i] as typeof stream.write;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const s =
        typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
      if (s.trimStart().startsWith('{')) {
        lines.push(...s.split('\n').filter((l) => l.trim() !== ''));
        const done = rest.find((r): r is () => void => typeof r === 'function');
        done?.();
        return true;
      }
      return (original as (...a: unknown[]) => boolean).call(stream, chunk, ...rest);
    }) as typeof stream.write;
  });
  return {
    lines,
    restore() {
      streams.forEach((stream, i) => {
        stream.write = originals[i] as typeof stream.write;
      });
    },
  };
}
