/**
 * `npm run chaos`: the kill -9 fuzz of the local dev server. See `args.ts`
 * for the flags and `figures.ts` for what is counted. Everything talks to
 * 127.0.0.1 only; the data directory is a fresh temp dir.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { backend } from '../../examples/invoice/backend.js';
import { parseApprovalForm } from '../cli/approve.js';
import { CHAOS_USAGE, type ChaosArgs, ChaosUsageError, parseChaosArgs, seededRandom } from './args.js';
import { type ChaosFigures, computeFigures, type FigureDetails, type RunTruth } from './figures.js';
import { renderTable } from './report.js';
import { DevServer } from './server.js';
import {
  executionsByName,
  getRun,
  ledgerOf,
  outboxApprovals,
  readRequestLog,
  useServerBackend,
} from './truth.js';

const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
const WORKFLOW = 'invoice-reconciliation';
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'STOPPED']);

interface RunState {
  runId: string;
  invoiceId: string;
  accepted: boolean;
  retried: boolean;
  attempts: number;
  refused?: string;
  status?: string;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs the fuzz; resolves with the figures (and prints them unless `quiet`). */
export async function runChaos(
  args: ChaosArgs,
  log: (line: string) => void,
): Promise<{ figures: ChaosFigures; details: FigureDetails; seconds: number; dataDir: string }> {
  const started = Date.now();
  const rnd = seededRandom(args.seed);
  const between = (lo: number, hi: number) => lo + rnd() * (hi - lo);
  const workDir = mkdtempSync(join(tmpdir(), 'chaperone-chaos-'));
  const dataDir = join(workDir, 'data');
  mkdirSync(dataDir);
  const requestLog = join(workDir, 'model-requests.jsonl');
  const bootReports: string[] = [];
  const server = new DevServer({
    repoRoot: REPO_ROOT,
    dataDir,
    requestLog,
    onStderr: (line) => {
      if (/JournalCorrupt|torn last line|failed/i.test(line)) bootReports.push(line);
    },
  });
  log(`chaos: seed ${args.seed}, ${args.runs} runs, ≥ ${args.kills} kills, data dir ${dataDir}`);

  // Kill budget: random moments (some right after a POST /runs is sent), right after a payment
  // committed (watched in the backend table), during approval POSTs, and armed crash-after faults
  // that make the server SIGKILL itself the instant a payment commits.
  const budget = {
    payment: Math.round(args.kills * 0.2),
    approval: Math.round(args.kills * 0.15),
    armed: Math.round(args.kills * 0.1),
  };
  let finished = false;
  let killing = false;
  const kill = async (why: string): Promise<void> => {
    if (killing || !server.up || finished) return;
    killing = true;
    try {
      await server.kill();
      log(`  kill ${server.kills} (${why})`);
    } finally {
      killing = false;
    }
  };

  let urls = await server.start();
  const { runsTable } = await useServerBackend(urls, dataDir);
  const runs: RunState[] = Array.from({ length: args.runs }, (_, i) => ({
    runId: `chaos-${args.seed}-${String(i + 1).padStart(3, '0')}`,
    invoiceId: `INV-${String(700_000 + i + 1).padStart(6, '0')}`,
    accepted: false,
    retried: false,
    attempts: 0,
  }));
  for (const run of runs) {
    await backend.addInvoice({
      invoiceId: run.invoiceId,
      vendorId: 'V-100',
      amount: 100 + Math.round(rnd() * 900),
      currency: 'EUR',
      status: 'open',
      dueDate: '2026-12-15',
      lines: [{ sku: 'CHAOS', description: 'chaos test line', quantity: 1, unitPrice: 1 }],
    });
  }

  // The server's lifecycle: whenever it dies, start it again (sometimes armed to die after a payment).
  const lifecycle = (async () => {
    for (;;) {
      await server.waitForExit();
      if (finished) return;
      const armed = budget.armed > 0 && rnd() < 0.3;
      if (armed) budget.armed -= 1;
      try {
        urls = await server.start(
          armed ? { schedulePayment: { kind: 'crash-after', times: 1, exit: true } } : undefined,
        );
        await useServerBackend(urls, dataDir);
        if (armed) log('  restarted, armed to die right after the next payment commits');
      } catch (err) {
        log(`  restart failed: ${err instanceof Error ? err.message : String(err)}`);
        if (!server.up) await sleep(500);
      }
    }
  })();
  const whenUp = async (): Promise<void> => {
    while (!server.up && !finished) await sleep(50);
  };

  // Posting: one loop per run, retried with the same runId until a 2xx or a 4xx.
  let postKillPending = false;
  const post = async (run: RunState): Promise<void> => {
    for (;;) {
      await whenUp();
      if (finished) return;
      run.attempts += 1;
      if (run.attempts > 1) run.retried = true;
      try {
        const sent = fetch(`${urls.api}/runs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ workflow: WORKFLOW, input: { invoiceId: run.invoiceId }, runId: run.runId }),
          signal: AbortSignal.timeout(15_000),
        });
        if (postKillPending) {
          postKillPending = false;
          void sleep(between(0, 15)).then(() => kill(`during POST /runs of ${run.runId}`));
        }
        const res = await sent;
        await res.text();
        if (res.status >= 200 && res.status < 300) {
          run.accepted = true;
          return;
        }
        if (res.status >= 400 && res.status < 500) {
          run.refused = `POST /runs answered ${res.status}`;
          return;
        }
      } catch {
        // cut off by a kill: send it again
      }
      await sleep(200 + rnd() * 300);
    }
  };
  // The driver: after each (re)start, post the next batch of runs, staggered, then kill at a random
  // moment while they are in flight (a quarter of the time, just as a POST /runs goes out). It goes
  // on until every run is posted and the kills reached the target.
  const perLife = Math.max(1, Math.ceil(args.runs / (args.kills + 1)));
  const driver = (async () => {
    const posts: Promise<void>[] = [];
    let next = 0;
    while (!finished && (next < runs.length || server.kills < args.kills)) {
      await whenUp();
      const batch = runs.slice(next, next + perLife);
      next += batch.length;
      const killThisLife = server.kills < args.kills;
      if (killThisLife && batch.length > 0 && rnd() < 0.25) postKillPending = true;
      for (const run of batch) {
        posts.push(post(run));
        await sleep(between(100, 700));
      }
      if (!killThisLife) continue;
      await sleep(between(200, 2500));
      postKillPending = false;
      if (server.up) await kill('random moment');
      else await sleep(200);
    }
    await Promise.all(posts);
  })();

  // Kills right after a payment commits, seen in the backend table.
  const paymentWatcher = (async () => {
    const seen = new Set<string>();
    while (!finished) {
      await sleep(100);
      if (!server.up) continue;
      let payments: Awaited<ReturnType<typeof backend.listPayments>>;
      try {
        payments = await backend.listPayments();
      } catch {
        continue;
      }
      const fresh = payments.filter((p) => !seen.has(p.paymentId));
      for (const p of payments) seen.add(p.paymentId);
      if (fresh.length > 0 && budget.payment > 0 && rnd() < 0.6) {
        budget.payment -= 1;
        await sleep(between(0, 300));
        await kill(`right after payment ${fresh[0]?.paymentId} committed`);
      }
    }
  })();

  // The approver: opens every emailed link and approves; some POSTs are cut off by a kill.
  const decided = new Map<string, string[]>();
  const closed = new Set<string>();
  const approver = (async () => {
    while (!finished) {
      await sleep(300);
      if (!server.up) continue;
      for (const a of outboxApprovals(join(dataDir, 'outbox'), /chaos-\d+-\d{3}/)) {
        if (closed.has(a.approvalId) || !server.up || finished) continue;
        const killDuring = budget.approval > 0 && rnd() < 0.4;
        if (killDuring) budget.approval -= 1;
        const status = await approve(
          a.link,
          killDuring
            ? () => void sleep(between(0, 20)).then(() => kill(`during the approval POST of ${a.approvalId}`))
            : undefined,
        );
        if (status === 200) {
          closed.add(a.approvalId);
          if (a.runId) decided.set(a.runId, [...(decided.get(a.runId) ?? []), a.approvalId]);
        } else if (status !== undefined && status >= 400 && status < 500) {
          closed.add(a.approvalId); // decided before (409), expired (410): nothing more to do
        }
      }
    }
  })();

  // Until every run is terminal, or the deadline after the last post.
  await driver;
  const deadline = Date.now() + args.deadlineSeconds * 1000;
  while (Date.now() < deadline) {
    await sleep(1000);
    if (!server.up) continue;
    let open = 0;
    for (const run of runs) {
      if (run.refused || (run.status && TERMINAL.has(run.status))) continue;
      try {
        run.status = (await getRun(urls.api, run.runId))?.status;
      } catch {
        // the server went down meanwhile
      }
      if (!run.status || !TERMINAL.has(run.status)) open += 1;
    }
    if (open === 0) break;
  }
  finished = true;
  await Promise.all([paymentWatcher, approver]);
  while (killing) await sleep(50);
  if (!server.up) {
    await lifecycle.catch(() => undefined);
    urls = await server.start();
    await useServerBackend(urls, dataDir);
  }

  // The truth.
  const executions = await executionsByName(urls, dataDir);
  const payments = await backend.listPayments();
  const emailed = new Map<string, string[]>();
  for (const a of outboxApprovals(join(dataDir, 'outbox'), /chaos-\d+-\d{3}/))
    if (a.runId) emailed.set(a.runId, [...new Set([...(emailed.get(a.runId) ?? []), a.approvalId])]);
  const truths: RunTruth[] = [];
  for (const run of runs) {
    const view = await getRun(urls.api, run.runId);
    truths.push({
      runId: run.runId,
      invoiceId: run.invoiceId,
      accepted: run.accepted,
      retried: run.retried,
      status: view?.status,
      ...(view?.endDetail ? { endDetail: view.endDetail } : {}),
      trail: view?.trail ?? [],
      executionStatus: executions.get(run.runId),
      ledger: await ledgerOf(urls, dataDir, runsTable, run.runId),
      emailedApprovals: emailed.get(run.runId) ?? [],
      decidedApprovals: decided.get(run.runId) ?? [],
    });
  }
  const kills = server.kills;
  const killTimes = [...server.killTimes];
  await server.stop();
  await lifecycle.catch(() => undefined);
  const requests = readRequestLog(requestLog);
  const { figures, details } = computeFigures({
    runs: truths,
    payments: payments.map((p) => ({
      invoiceId: p.invoiceId,
      paymentId: p.paymentId,
      idempotencyKey: p.idempotencyKey,
    })),
    requests,
    killTimes,
    kills,
  });
  for (const r of runs) if (r.refused) details.lost.push(`${r.runId}: ${r.refused}`);
  if (bootReports.length > 0) log(`  server stderr at boot: ${bootReports.slice(0, 5).join(' | ')}`);
  if (!args.keep) rmSync(workDir, { recursive: true, force: true });
  return { figures, details, seconds: (Date.now() - started) / 1000, dataDir };
}

/** GET the approval page, POST its form (approve); `onPost` fires as the POST goes out. */
async function approve(link: string, onPost?: () => void): Promise<number | undefined> {
  try {
    const page = await fetch(link, { headers: { accept: 'text/html' }, signal: AbortSignal.timeout(10_000) });
    const html = await page.text();
    if (!page.ok) return page.status;
    const form = parseApprovalForm(html, link);
    if (!form) return 409;
    const body = new URLSearchParams({ ...form.fields, decision: 'approve' });
    if (/name\s*=\s*["']comment["']/i.test(html)) body.set('comment', 'approved by npm run chaos');
    const sent = fetch(form.action, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      signal: AbortSignal.timeout(10_000),
    });
    onPost?.();
    const res = await sent;
    await res.text();
    return res.status;
  } catch {
    return undefined; // cut off: try again later
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let args: ChaosArgs;
  try {
    args = parseChaosArgs(argv);
  } catch (err) {
    if (err instanceof ChaosUsageError) {
      process.stderr.write(`npm run chaos: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    process.stdout.write(CHAOS_USAGE);
    return 0;
  }
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const { figures, details, seconds } = await runChaos(args, log);
  if (args.json) {
    process.stdout.write(
      `${JSON.stringify({ ...figures, seed: args.seed, seconds: Math.round(seconds), details })}\n`,
    );
  } else {
    process.stdout.write(`${renderTable(figures, details, { seed: args.seed, seconds })}\n`);
  }
  return 0;
}

const isEntry =
  process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isEntry) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(
        `npm run chaos failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
