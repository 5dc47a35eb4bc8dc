import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend } from '../../../examples/invoice/backend.js';
import { invoiceWorkflow } from '../../../examples/invoice/workflow.js';
import { REPO_ROOT } from '../../../infra/repo-root.js';
import type { OutboxEmail } from '../../../local/aws/services.js';
import { main } from '../../../local/cli/chaperone.js';
import { loadScenario, scenario, text, toolUse } from '../../../local/scripted-model/index.js';
import { AgentHarness, proxyEvent } from '../../support/agent-harness.js';

let h: AgentHarness;
let server: Server;
const crashing = new Set<string>();
let api: string;

/** Serve the API handler over HTTP, as API Gateway would, for the CLI to call. */
function routeOf(path: string): { resource: string; params: Record<string, string> } {
  const m = /^\/(runs|approvals)\/([^/]+)(\/redrive)?$/.exec(path);
  if (m) return { resource: `/${m[1]}/{id}${m[3] ?? ''}`, params: { id: decodeURIComponent(m[2] ?? '') } };
  return { resource: path, params: {} };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const { resource, params } = routeOf(url.pathname);
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      const body = chunks.length ? Buffer.concat(chunks).toString('utf8') : null;
      h.api()(
        proxyEvent(
          req.method ?? 'GET',
          resource,
          params,
          body,
          Object.fromEntries(url.searchParams),
          headers,
        ),
      ).then(
        (out) => {
          res.writeHead(out.statusCode, out.headers);
          res.end(out.body);
        },
        (err: unknown) => {
          res.writeHead(502);
          res.end(String(err));
        },
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  h = await AgentHarness.start(
    [invoiceWorkflow],
    { APPROVAL_BASE_URL: api },
    {
      retryJitter: () => 0.002,
      // The agent step of a run in `crashing` dies after its handler ran, past every retry.
      inject: async (fn, event, run) => {
        const out = await run();
        if (fn === 'agentStep' && crashing.has((event as { runId?: string }).runId ?? '')) {
          const died = new Error('the function process died (injected)');
          died.name = 'Lambda.Unknown';
          throw died;
        }
        return out;
      },
    },
  );
});
afterAll(async () => {
  await h.close();
  await new Promise((r) => server.close(r));
});

describe('chaperone CLI', () => {
  it('lists the pending approval and decides it once through the signed link', async () => {
    await backend.reset();
    h.model.use(
      scenario('pay', [
        toolUse('lookup_invoice', { invoice_id: 'INV-000101' }),
        toolUse('schedule_payment', {
          invoice_id: 'INV-000101',
          amount: 1250,
          currency: 'EUR',
          scheduled_for: '2026-12-15',
        }),
        text('Payment scheduled.'),
      ]),
    );
    const mail = new Promise<OutboxEmail>((resolve) => h.services.events.once('email', resolve));
    const res = await h.api()(
      proxyEvent(
        'POST',
        '/runs',
        {},
        JSON.stringify({ workflow: invoiceWorkflow.name, input: { invoiceId: 'INV-000101' } }),
      ),
    );
    const { runId } = JSON.parse(res.body) as { runId: string };
    const link = (await mail).links.find((l) => l.includes('/approvals/')) ?? '';
    const out: string[] = [];
    const io = { write: (l: string) => out.push(l), env: { CHAPERONE_API_URL: api } };

    expect(await main(['approvals', 'list'], io)).toBe(0);
    expect(out.join('\n')).toMatch(new RegExp(`pending  run ${runId}  schedule_payment`));
    expect(await main(['approvals', 'reject', link], io)).toBe(2);
    expect(await backend.listPayments()).toHaveLength(0);

    out.length = 0;
    expect(await main(['approvals', 'approve', link, '--comment', 'checked against the PO'], io)).toBe(0);
    expect(out.join('\n')).toContain('schedule_payment');
    expect(out.at(-1)).toBe('approved');
    const done = await h.sfn.waitForExecution(
      `arn:aws:states:us-east-1:000000000000:execution:${invoiceWorkflow.name}:${runId}`,
    );
    expect(done.status).toBe('SUCCEEDED');
    expect(await backend.listPayments()).toHaveLength(1);

    out.length = 0;
    expect(await main(['approvals', 'approve', link], io)).toBe(1);
    expect(out.join('\n')).toMatch(/already decided: approved by ap-approver@example.com|Already decided/);
    expect(await backend.listPayments()).toHaveLength(1);
  });

  it('replays a recorded run: chaperone replay writes its model answers as a scenario module the scripted model plays', async () => {
    await backend.reset();
    const original = scenario('original', [
      toolUse('lookup_invoice', { invoice_id: 'INV-000101' }),
      text('INV-000101 is open; nothing to pay today.'),
    ]);
    h.model.use(original);
    const first = await h.run(invoiceWorkflow.name, { invoiceId: 'INV-000101' });
    // Inside the repository, so the module's import of chaperone/testing resolves as it would in an app.
    const dir = mkdtempSync(join(REPO_ROOT, '.replay-test-'));
    try {
      const out: string[] = [];
      const file = join(dir, 'replay.mjs');
      const code = await main(['replay', first.runId, '--out', file], {
        write: (l) => out.push(l),
        env: { CHAPERONE_API_URL: api },
      });
      expect(code, out.join('\n')).toBe(0);
      expect(out.join('\n')).toContain(`chaperone dev --scenario ${file}`);

      h.model.use(await loadScenario(file));
      const again = await h.run(invoiceWorkflow.name, { invoiceId: 'INV-000101' });

      expect(again.execution.status).toBe('SUCCEEDED');
      expect((await h.runs.getRun(again.runId))?.answer).toBe('INV-000101 is open; nothing to pay today.');
      expect(h.model.requests.filter((r) => r.conversation.startsWith(`${again.runId}:`))).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('chaperone runs redrive', () => {
  it('resumes a run failed by a crash where it failed, and refuses one that succeeded, saying why', async () => {
    await backend.reset();
    h.model.use(
      scenario('redrive-cli', [
        toolUse('lookup_invoice', { invoice_id: 'INV-000101' }),
        text('INV-000101 is open; nothing to pay today.'),
      ]),
    );
    const res = await h.api()(
      proxyEvent(
        'POST',
        '/runs',
        {},
        JSON.stringify({ workflow: invoiceWorkflow.name, input: { invoiceId: 'INV-000101' } }),
      ),
    );
    const { runId } = JSON.parse(res.body) as { runId: string };
    crashing.add(runId);
    const arn = `arn:aws:states:us-east-1:000000000000:execution:${invoiceWorkflow.name}:${runId}`;
    expect((await h.sfn.waitForExecution(arn)).error).toBe('Lambda.Unknown');

    crashing.delete(runId);
    const out: string[] = [];
    const io = { write: (l: string) => out.push(l), env: { CHAPERONE_API_URL: api } };
    expect(await main(['runs', 'redrive', runId], io), out.join('\n')).toBe(0);
    expect(out.at(-1)).toMatch(
      new RegExp(`^run ${runId} redriven after Lambda\\.Unknown: .*: it goes on where it failed$`),
    );
    const done = await h.sfn.waitForExecution(arn);
    expect(done.status).toBe('SUCCEEDED');
    expect((await h.runs.getRun(runId))?.answer).toBe('INV-000101 is open; nothing to pay today.');

    expect(await main(['runs', 'redrive', runId], io)).toBe(2);
    expect(out.at(-1)).toBe(
      `run ${runId} was not redriven (409): run ${runId} succeeded: there is nothing to redrive`,
    );
  });
});

describe('chaperone CLI without an API to call', () => {
  it('says what it tried: no --api, no CHAPERONE_API_URL, no running stack in the data dir', async () => {
    const out: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'chaperone-cli-none-'));

    const code = await main(['runs', 'get', 'R1', '--data-dir', dir], { write: (l) => out.push(l), env: {} });
    rmSync(dir, { recursive: true, force: true });

    expect(code).toBe(1);
    expect(out.join('\n')).toContain(
      `no API to call: no --api, no CHAPERONE_API_URL, and no local stack running on ${dir}`,
    );
    expect(out.join('\n')).toContain('npm start -- --serve');
  });

  it('a refused connection names the URL, the reason and where the URL came from', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const out: string[] = [];

    const code = await main(['approvals', 'list', '--api', `http://127.0.0.1:${port}`], {
      write: (l) => out.push(l),
      env: {},
    });

    expect(code).toBe(1);
    expect(out.join('\n')).toMatch(
      new RegExp(
        `GET http://127\\.0\\.0\\.1:${port}/approvals\\?status=pending failed: .*ECONNREFUSED.*\\(the URL came from --api\\)`,
      ),
    );
  });
});
