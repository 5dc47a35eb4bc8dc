import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CONSOLE_CSP } from '../../../lambdas/core/console/console-page.js';
import type { OutboxEmail } from '../../../local/aws/ses-outbox.js';
import { decideViaLink } from '../../../local/cli/approve.js';
import { type LocalStack, startLocalStack } from '../../../local/runtime/stack.js';
import { consoleAppTemplate } from './fixtures/app.js';
import {
  approvalLinkFor,
  BUDGET_NOTE,
  CHROMIUM_ARGS,
  chromiumExecutable,
  consoleScenario,
  MISSING_INVOICE,
  postRun,
  waitForRun,
} from './support.js';

/** Screenshots of each view, kept as test artifacts (gitignored). */
const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'console');
const APPROVER = 'ap-approver@example.com';

let dataDir: string;
let stack: LocalStack;
let browser: Browser;
let page: Page;
const emails: OutboxEmail[] = [];
/** What the page printed: a CSP violation or a script error shows up here. */
const pageProblems: string[] = [];
const runs: Record<'approved' | 'rejected' | 'budget', string> = { approved: '', rejected: '', budget: '' };
/** Every task token the state machines handed a function (the approval gates' among them). */
const taskTokens = new Set<string>();
/** `GET /console/approvals` as it answered while an approval was pending. */
let pendingAnswer = '';

beforeAll(async () => {
  // The Anthropic SDK warns about the example's deprecated model id on console.warn; that is not ours.
  vi.spyOn(console, 'warn').mockImplementation(() => undefined);
  mkdirSync(ARTIFACTS, { recursive: true });
  dataDir = mkdtempSync(join(tmpdir(), 'chaperone-console-'));
  stack = await startLocalStack({
    dataDir,
    model: 'scripted',
    scenario: consoleScenario,
    template: consoleAppTemplate(),
    env: {},
  });
  stack.events.on('email', (e) => emails.push(e));
  stack.events.on('invoke', (r) => {
    for (const m of JSON.stringify(r.event).matchAll(/"taskToken":"([^"]+)"/g))
      if (m[1]) taskTokens.add(m[1]);
  });
  browser = await chromium.launch({ executablePath: await chromiumExecutable(), args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') pageProblems.push(m.text());
  });
  page.on('pageerror', (err) => pageProblems.push(err.message));

  // A rejected run (its gate stops the run on a rejection) and a budget stop, before the approved run.
  runs.rejected = await postRun(stack, { workflow: 'invoice-strict', input: { invoiceId: 'INV-000102' } });
  const rejectLink = await approvalLinkFor(stack, emails, runs.rejected);
  await decideViaLink(rejectLink, 'reject', 'Not this month.');
  await waitForRun(stack, runs.rejected, (r) => r.status !== 'RUNNING');
  runs.budget = await postRun(stack, {
    workflow: 'invoice-reconciliation',
    input: { invoiceId: 'INV-000101', note: BUDGET_NOTE },
    tenant: 'acme',
  });
  await waitForRun(stack, runs.budget, (r) => r.status !== 'RUNNING');
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  vi.mocked(console.warn).mockRestore?.();
});

type RunTrail = { trail: Array<{ type: string; [k: string]: unknown }> };

const rows = () =>
  page.locator('#runs-table tbody tr[data-run-id]').evaluateAll((trs) =>
    trs.map((tr) => ({
      runId: tr.getAttribute('data-run-id'),
      status: tr.getAttribute('data-status'),
      cells: Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? ''),
    })),
  );

describe('the run console in a real Chromium, on the local runtime', () => {
  it('follows a run live while it waits for approval, lists the approval with what the approver sees, and shows who approved', async () => {
    runs.approved = await postRun(stack, {
      workflow: 'invoice-reconciliation',
      input: { invoiceId: 'INV-000101' },
    });
    const link = await approvalLinkFor(stack, emails, runs.approved);

    await page.goto(`${stack.apiUrl}/console#approvals`);
    const approval = page.locator('#approvals-list article.approval');
    await approval.first().waitFor();
    const pendingText = await approval.first().textContent();
    pendingAnswer = await (await fetch(`${stack.apiUrl}/console/approvals`)).text();
    await page.screenshot({ path: join(ARTIFACTS, 'approvals.png'), fullPage: true });

    await page.goto(`${stack.apiUrl}/console#run/${runs.approved}`);
    await page.locator('#timeline li[data-type="approval_requested"]').waitFor();
    const statusWhileWaiting = await page.locator('#run-status').textContent();
    await decideViaLink(link, 'approve', 'Matches the PO.');
    // No reload: the page reads the run again while it is RUNNING.
    const decided = page.locator('#timeline li[data-type="approval_decided"]');
    await decided.waitFor({ timeout: 30_000 });
    await page.locator('#run-status.SUCCEEDED').waitFor({ timeout: 30_000 });
    await page.locator('#timeline li[data-type="run_finished"]').waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'approved-run.png'), fullPage: true });
    const types = await page
      .locator('#timeline li')
      .evaluateAll((lis) => lis.map((li) => li.getAttribute('data-type')));
    const toolCalls = await page.locator('#timeline li[data-type="tool_call"] h4').allTextContents();
    const budgetRows = await page.locator('#budget-table tbody tr').count();
    const firstModelCall = page.locator('#timeline li[data-type="model_call"]').first();
    const modelHead = await firstModelCall.locator('h4').textContent();
    const modelFigures = await firstModelCall.locator('.figures').textContent();
    const modelText = await page
      .locator('#timeline li[data-type="model_call"] .model-text')
      .allTextContents();
    const lookup = page.locator('#timeline li[data-type="tool_call"]').first();
    const lookupFigures = await lookup.locator('.figures').textContent();
    const lookupDetails = await lookup.locator('details pre').allTextContents();
    // What the approver was shown, from the approval record, next to the request in the timeline.
    const asked = page.locator('#timeline li[data-type="approval_requested"] .asked');
    await asked.waitFor();
    const askedText = await asked.textContent();
    const approvedRun = (await (await fetch(`${stack.apiUrl}/runs/${runs.approved}`)).json()) as {
      trail: Array<Record<string, unknown>>;
    };
    const firstCall = approvedRun.trail.find((e) => e.type === 'model_call') as {
      toolsOffered: string[];
      text?: string;
    };
    const lookupEvent = approvedRun.trail.find((e) => e.type === 'tool_call') as {
      resultBytes: number;
      originalBytes: number;
      durationMs: number;
    };

    expect(pendingText).toContain(`run ${runs.approved}`);
    expect(pendingText).toContain('schedule_payment (write)');
    expect(pendingText).toContain('"invoice_id": "INV-000101"');
    expect(pendingText).toContain(APPROVER);
    expect(pendingText).not.toMatch(/sig=|taskToken/);
    expect(statusWhileWaiting).toBe('RUNNING');
    expect(await decided.locator('.approver').getAttribute('data-approver')).toBe(APPROVER);
    expect(await decided.textContent()).toContain(`approval approved by ${APPROVER}`);
    expect(await decided.textContent()).toContain('Matches the PO.');
    expect(types).toEqual(
      expect.arrayContaining([
        'run_started',
        'model_call',
        'tool_call',
        'approval_requested',
        'approval_decided',
        'run_finished',
      ]),
    );
    expect(toolCalls.map((t) => t.replace(/^\S+ \S+ /, ''))).toEqual([
      'tool lookup_invoice: ok',
      'tool find_vendor: ok',
      'tool schedule_payment: ok',
    ]);
    // Every model call: the tools offered, the one chosen, the model's text.
    expect(modelHead).toContain('calls lookup_invoice');
    expect(modelFigures).toContain(`offered: ${firstCall.toolsOffered.join(', ')}`);
    expect(firstCall.toolsOffered).toContain('schedule_payment');
    expect(modelText.filter((t) => t !== '').length).toBeGreaterThan(0);
    expect(modelText).toContain(firstCall.text ?? '');
    // Every tool call: attempts, duration, result and original size, arguments and result.
    expect(lookupFigures).toContain('1 attempt(s)');
    expect(lookupFigures).toContain(
      `result ${lookupEvent.resultBytes.toLocaleString('en-US')} B of ${lookupEvent.originalBytes.toLocaleString('en-US')} B original`,
    );
    expect(lookupFigures).toMatch(/ · \d+(\.\d)? m?s · /);
    expect(lookupDetails[0]).toContain('"invoice_id": "INV-000101"');
    expect(lookupDetails[1]).toContain('INV-000101');
    // The approval: what the approver saw (the gated call and its arguments), who decided and when.
    expect(askedText).toContain('schedule_payment (write)');
    expect(askedText).toContain('"invoice_id": "INV-000101"');
    expect(askedText).toMatch(new RegExp(`approved by ${APPROVER} at \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d`));
    expect(budgetRows).toBe(4);
    expect(await page.locator('#budget-table tbody tr').last().textContent()).toContain('4 / 12');
  });

  it('lists the three runs with their status, filters by status and tenant, and searches', async () => {
    await page.goto(`${stack.apiUrl}/console#runs`);
    await page.locator('#runs-table tbody tr[data-run-id]').nth(2).waitFor();
    const listed = await rows();
    await page.screenshot({ path: join(ARTIFACTS, 'runs.png'), fullPage: true });
    await page.locator('select[name="status"]').selectOption('STOPPED');
    await page.locator(`#runs-table tbody tr[data-run-id="${runs.approved}"]`).waitFor({ state: 'detached' });
    const stopped = await rows();
    await page.locator('select[name="status"]').selectOption('');
    await page.locator('select[name="tenant"]').selectOption('acme');
    await page.locator(`#runs-table tbody tr[data-run-id="${runs.rejected}"]`).waitFor({ state: 'detached' });
    const acme = await rows();
    await page.locator('select[name="tenant"]').selectOption('');
    await page.locator('input[name="q"]').fill('invoice-strict');
    await page.locator(`#runs-table tbody tr[data-run-id="${runs.budget}"]`).waitFor({ state: 'detached' });
    const searched = await rows();

    expect(Object.fromEntries(listed.map((r) => [r.runId, r.status]))).toEqual({
      [runs.approved]: 'SUCCEEDED',
      [runs.rejected]: 'REJECTED',
      [runs.budget]: 'STOPPED',
    });
    // Newest first, with workflow, tenant, steps, tokens and cost.
    expect(listed.map((r) => r.runId)).toEqual([runs.approved, runs.budget, runs.rejected]);
    const budgetRow = listed.find((r) => r.runId === runs.budget)?.cells ?? [];
    expect(budgetRow[1]).toBe('STOPPED (BudgetExceeded)');
    expect(budgetRow.slice(2, 4)).toEqual(['invoice-reconciliation', 'acme']);
    expect(Number(budgetRow[7]?.replace(/,/g, ''))).toBeGreaterThan(59_500);
    expect(budgetRow[8]).toMatch(/^\$0\.\d{4}$/);
    expect(stopped.map((r) => r.runId)).toEqual([runs.budget]);
    expect(acme.map((r) => r.runId)).toEqual([runs.budget]);
    expect(searched.map((r) => r.runId)).toEqual([runs.rejected]);
  });

  it('shows the rejection and the budget refusal in their runs’ timelines', async () => {
    await page.goto(`${stack.apiUrl}/console#run/${runs.rejected}`);
    await page.locator(`#run-view[data-run-id="${runs.rejected}"]`).waitFor({ state: 'attached' });
    const rejected = await page.locator('#timeline li[data-type="approval_decided"]').textContent();
    await page.goto(`${stack.apiUrl}/console#run/${runs.budget}`);
    await page.locator(`#run-view[data-run-id="${runs.budget}"]`).waitFor({ state: 'attached' });
    const refused = await page.locator('#timeline li[data-type="budget_refused"] h4').textContent();
    const failedTool = page.locator('#timeline li[data-type="tool_call"]');
    const failedHead = await failedTool.locator('h4').textContent();
    const failedErrors = await failedTool.locator('p.error').allTextContents();
    const failedArgs = await failedTool.locator('details pre').first().textContent();
    const summary = await page.locator('#run-summary').textContent();
    await page.screenshot({ path: join(ARTIFACTS, 'budget-run.png'), fullPage: true });

    expect(rejected).toContain(`approval rejected by ${APPROVER}`);
    expect(rejected).toContain('Not this month.');
    expect(refused).toContain('budget refused: tokens');
    // A tool call that failed: its status, the attempt's error, the arguments.
    expect(failedHead).toContain('tool lookup_invoice: error');
    expect(failedErrors).toEqual([
      expect.stringMatching(new RegExp(`^attempt 1: error: .*${MISSING_INVOICE} not found`)),
    ]);
    expect(failedArgs).toContain(`"invoice_id": "${MISSING_INVOICE}"`);
    expect(summary).toContain('BudgetExceeded');
  });

  it('draws the four charts with Chart.js from the package, from the runs’ data', async () => {
    await page.goto(`${stack.apiUrl}/console#charts`);
    await page.locator('table.chart-data[data-chart="chart-rejections"]').waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'charts.png'), fullPage: true });
    const drawn = await page.evaluate(() => {
      const Chart = (
        window as unknown as {
          Chart: {
            getChart(
              id: string,
            ): { data: { datasets: Array<{ label: string; data: unknown[] }> } } | undefined;
            version: string;
          };
        }
      ).Chart;
      return {
        version: Chart.version,
        charts: Object.fromEntries(
          [
            'chart-cost',
            'chart-cost-time',
            'chart-steps',
            'chart-steps-time',
            'chart-tools',
            'chart-rejections',
          ].map((id) => [
            id,
            Chart.getChart(id)?.data.datasets.map((d) => ({ label: d.label, data: d.data })) ?? null,
          ]),
        ),
      };
    });
    const table = (id: string) =>
      page
        .locator(`table.chart-data[data-chart="${id}"] tr`)
        .evaluateAll((trs) =>
          trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)),
        );
    const costs = await table('chart-cost');
    const steps = await table('chart-steps');
    const tools = await table('chart-tools');
    const rejections = await table('chart-rejections');
    const scripts = await page.locator('script').evaluateAll((s) => s.map((x) => x.getAttribute('src')));

    expect(drawn.version).toBe('4.6.1');
    const countOf = (id: string) =>
      (drawn.charts[id]?.[0]?.data as number[] | undefined)?.reduce((a, b) => a + b, 0);
    expect(countOf('chart-cost')).toBe(3);
    expect(countOf('chart-steps')).toBe(3);
    expect(costs.map((c) => c[0]).sort()).toEqual(Object.values(runs).sort());
    expect(Object.fromEntries(steps.map((s) => [s[0], s[2]]))).toMatchObject({
      [runs.approved]: '4',
      [runs.budget]: '1',
    });
    // The distributions over time: p50/p90/p99 per bucket of the runs' start.
    const series = (id: string, label: string) =>
      (drawn.charts[id]?.find((d) => d.label === label)?.data ?? []).filter(
        (v): v is number => typeof v === 'number',
      );
    expect(drawn.charts['chart-cost-time']?.map((d) => d.label)).toEqual(['p50', 'p90', 'p99']);
    expect(drawn.charts['chart-steps-time']?.map((d) => d.label)).toEqual(['p50', 'p90', 'p99']);
    expect(Math.max(...series('chart-steps-time', 'p99'))).toBe(4);
    expect(Math.min(...series('chart-steps-time', 'p50'))).toBeGreaterThanOrEqual(1);
    expect(Math.max(...series('chart-cost-time', 'p99')).toFixed(4)).toBe(
      Math.max(...costs.map((c) => Number(String(c[2]).slice(1)))).toFixed(4),
    );
    expect(drawn.charts['chart-tools']?.map((d) => d.label)).toEqual([
      'find_vendor',
      'lookup_invoice',
      'schedule_payment',
    ]);
    expect(tools).toContainEqual(['schedule_payment', '1/1', '100%']);
    // The budget run's lookup of an invoice that does not exist failed.
    expect(tools).toContainEqual(['lookup_invoice', '2/3', '67%']);
    expect(drawn.charts['chart-rejections']?.map((d) => d.label)).toEqual(['budget_tokens']);
    expect(rejections).toContainEqual(['budget_tokens', '1']);
    expect(scripts).toEqual(['console/chart.umd.js', 'console/console.js']);
    expect(pageProblems).toEqual([]);
  });

  it('names a bad filter and a run that does not exist, and changes nothing', async () => {
    const before = await (await fetch(`${stack.apiUrl}/runs`)).json();
    await page.goto(`${stack.apiUrl}/console#runs?status=DONE`);
    await page.locator('#runs-view[data-loaded="status=DONE"]').waitFor({ state: 'attached' });
    const badStatus = await page.locator('#runs-error').textContent();
    await page.goto(`${stack.apiUrl}/console#runs?colour=red`);
    await page.locator('#runs-view[data-loaded="colour=red"]').waitFor({ state: 'attached' });
    const unknownFilter = await page.locator('#runs-error').textContent();
    await page.goto(`${stack.apiUrl}/console#run/01NOSUCHRUN`);
    await page.locator('#run-view[data-run-id="01NOSUCHRUN"]').waitFor({ state: 'attached' });
    const missing = await page.locator('#run-error').textContent();
    const api = await fetch(`${stack.apiUrl}/runs?colour=red`);
    const after = await (await fetch(`${stack.apiUrl}/runs`)).json();

    expect(badStatus).toContain('status "DONE" is not one of RUNNING, SUCCEEDED, STOPPED, FAILED, REJECTED');
    expect(unknownFilter).toBe('unknown filter "colour"; the filters are status, workflow, tenant, q, limit');
    expect(missing).toBe('run 01NOSUCHRUN does not exist');
    expect(api.status).toBe(400);
    expect(await api.json()).toMatchObject({ error: 'ValidationError', field: '/colour' });
    expect(after).toEqual(before);
  });

  it('serves nothing secret: no task token, link signature, HMAC key or AWS secret in any page, script or answer', async () => {
    const secrets = Object.values(
      JSON.parse(readFileSync(join(dataDir, 'secrets.json'), 'utf8')) as Record<
        string,
        { secretString: string }
      >,
    ).map((s) => s.secretString);
    const signatures = emails
      .flatMap((e) => e.links)
      .map((l) => new URL(l).searchParams.get('sig'))
      .filter((s): s is string => !!s);
    const approvalIds = (
      await Promise.all(
        Object.values(runs).map(async (id) =>
          ((await (await fetch(`${stack.apiUrl}/runs/${id}`)).json()) as RunTrail).trail.flatMap((e) =>
            e.type === 'approval_requested' ? [String(e.approvalId)] : [],
          ),
        ),
      )
    ).flat();
    const paths = [
      'console',
      'console/console.js',
      'console/console.css',
      'console/chart.umd.js',
      'runs',
      ...Object.values(runs).map((id) => `runs/${id}`),
      'console/metrics',
      'console/approvals',
      ...approvalIds.map((id) => `console/approvals?id=${encodeURIComponent(id)}`),
    ];
    const answers = await Promise.all(
      paths.map(async (p) => {
        const res = await fetch(`${stack.apiUrl}/${p}`);
        return { p, status: res.status, body: await res.text() };
      }),
    );
    const served = [pendingAnswer, ...answers.map((a) => a.body)].join('\n');
    const ours = [pendingAnswer, ...answers.filter((a) => a.p !== 'console/chart.umd.js').map((a) => a.body)];
    const leaked = [...secrets, ...signatures, ...taskTokens, stack.credentials.secretAccessKey].filter((s) =>
      served.includes(s),
    );

    expect(answers.filter((a) => a.status !== 200).map((a) => `${a.p} ${a.status}`)).toEqual([]);
    expect(approvalIds).toHaveLength(2);
    expect(secrets.length).toBeGreaterThan(0);
    expect(signatures.length).toBeGreaterThanOrEqual(2);
    expect(taskTokens.size).toBeGreaterThanOrEqual(2);
    expect(pendingAnswer).toContain('schedule_payment');
    expect(leaked).toEqual([]);
    for (const body of ours) expect(body).not.toMatch(/sig=|taskToken|"token"|secret/i);
  });

  it('sends a strict CSP, nosniff and no CORS; the browser enforces the CSP; a foreign Host or Origin is refused', async () => {
    const headersOf = async (path: string, init?: RequestInit) => {
      const res = await fetch(`${stack.apiUrl}/${path}`, init);
      await res.text();
      const headers: Record<string, string> = {};
      res.headers.forEach((v, k) => {
        headers[k] = v;
      });
      return { status: res.status, headers };
    };
    const files = await Promise.all(
      ['console', 'console/console.js', 'console/console.css', 'console/chart.umd.js'].map((p) =>
        headersOf(p),
      ),
    );
    const reads = await Promise.all(
      ['runs', `runs/${runs.approved}`, 'console/metrics', 'console/approvals'].map((p) =>
        headersOf(p, { headers: { origin: 'https://evil.example' } }),
      ),
    );
    const preflight = await headersOf('runs', {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    const before = ((await (await fetch(`${stack.apiUrl}/runs`)).json()) as { total: number }).total;
    const crossSite = await headersOf('runs', {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/json' },
      body: JSON.stringify({ workflow: 'invoice-reconciliation', input: { invoiceId: 'INV-000101' } }),
    });
    const after = ((await (await fetch(`${stack.apiUrl}/runs`)).json()) as { total: number }).total;
    // DNS rebinding: a page on evil.example whose name now points at 127.0.0.1 sends its own Host.
    const rebound = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL(`${stack.apiUrl}/console`);
      const req = request(
        {
          host: url.hostname,
          port: url.port,
          path: '/console',
          headers: { host: `evil.example:${url.port}` },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString('utf8');
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    // In the page: an injected inline script does not run, a request to another origin is blocked.
    const probe = await browser.newPage();
    const violations: string[] = [];
    probe.on('console', (m) => violations.push(m.text()));
    await probe.goto(`${stack.apiUrl}/console#charts`);
    await probe.locator('table.chart-data[data-chart="chart-rejections"]').waitFor();
    const enforced = await probe.evaluate(async () => {
      const s = document.createElement('script');
      s.textContent = 'window.__injected = true';
      document.body.append(s);
      let fetched = 'allowed';
      try {
        await fetch('http://127.0.0.2:9/steal', { mode: 'no-cors' });
      } catch {
        fetched = 'blocked';
      }
      return { injected: (window as unknown as { __injected?: boolean }).__injected === true, fetched };
    });
    await probe.close();

    for (const f of files) {
      expect(f.status).toBe(200);
      expect(f.headers['content-security-policy']).toBe(CONSOLE_CSP);
      expect(f.headers['x-content-type-options']).toBe('nosniff');
      expect(f.headers['x-frame-options']).toBe('DENY');
      expect(f.headers['access-control-allow-origin']).toBeUndefined();
    }
    expect(CONSOLE_CSP).toMatch(/script-src 'self';/);
    expect(CONSOLE_CSP).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
    for (const r of reads) {
      expect(r.status).toBe(200);
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-content-type-options']).toBe('nosniff');
      expect(r.headers['access-control-allow-origin']).toBeUndefined();
    }
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(crossSite.status).toBe(403);
    expect(after).toBe(before);
    expect(rebound.status).toBe(403);
    expect(rebound.body).toContain('answers only Host 127.0.0.1, localhost or [::1]');
    expect(enforced).toEqual({ injected: false, fetched: 'blocked' });
    expect(violations.some((v) => /Content Security Policy/.test(v))).toBe(true);
  });
});
