/**
 * The demo run of `npm start`: `POST /runs` over HTTP (or follow a run left
 * running by an earlier start), then poll `GET /runs/{id}` and print each
 * trail event as it lands. Each approval the run asks for is matched to its
 * email in the outbox; its link is printed for the person to open, or
 * followed automatically with `--auto-approve`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OutboxEmail } from '../aws/services.js';
import type { LocalStack } from '../runtime/stack.js';
import { approveViaLink } from './approve.js';
import { eventLine, noTotals, type RunView, summary, type Writer } from './print.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  stack: LocalStack;
  write: Writer;
  workflow: string;
  input: unknown;
  autoApprove: boolean;
  /** Follow this run (left running by an earlier start) instead of starting one. */
  followRunId?: string;
  /** @default 250 */
  pollMs?: number;
  /** Stops waiting (Ctrl-C); the run itself goes on in the data dir. */
  signal?: AbortSignal;
}

const TERMINAL = new Set(['SUCCEEDED', 'STOPPED', 'FAILED', 'REJECTED']);

/** Starts one run through the API (or follows one) to the end; returns its final view. */
export async function runDemo(options: DemoOptions): Promise<RunView> {
  const { stack, write } = options;
  const pollMs = options.pollMs ?? 250;
  const totals = noTotals();
  const seen = new Set<string>();
  const handled = new Set<string>();
  const runId = options.followRunId ?? (await startRun(options));
  for (;;) {
    const res = await fetch(`${stack.apiUrl}/runs/${encodeURIComponent(runId)}`);
    const run = (await res.json()) as RunView;
    if (!res.ok) throw new Error(`GET /runs/${runId} answered ${res.status}: ${JSON.stringify(run)}`);
    for (const event of run.trail ?? []) {
      if (seen.has(event.seq)) continue;
      seen.add(event.seq);
      const line = eventLine(event, run, totals);
      if (line !== undefined) write(line);
    }
    for (const approvalId of pendingApprovals(run)) {
      if (handled.has(approvalId)) continue;
      const email = findApprovalEmail(stack.outboxDir, approvalId);
      if (!email) continue; // the email lands just after the trail event; next poll
      handled.add(approvalId);
      await handleEmail(email, approvalId, options);
    }
    if (TERMINAL.has(run.status)) {
      for (const line of summary(run)) write(line);
      return run;
    }
    await sleep(pollMs, options.signal);
  }
}

async function startRun(options: DemoOptions): Promise<string> {
  const { stack, write } = options;
  const started = await fetch(`${stack.apiUrl}/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ workflow: options.workflow, input: options.input }),
  });
  const body = (await started.json()) as { runId?: string };
  if (!started.ok || typeof body.runId !== 'string') {
    throw new Error(`POST /runs answered ${started.status}: ${JSON.stringify(body)}`);
  }
  write(`POST ${stack.apiUrl}/runs → ${started.status}, run ${body.runId}`);
  return body.runId;
}

/** Approval ids the run asked for and has no decision on yet. */
function pendingApprovals(run: RunView): string[] {
  const trail = run.trail ?? [];
  const decided = new Set(
    trail.filter((e) => e.type === 'approval_decided').map((e) => String(e.approvalId)),
  );
  return trail
    .filter((e) => e.type === 'approval_requested' && !decided.has(String(e.approvalId)))
    .map((e) => String(e.approvalId));
}

/** The outbox email whose link opens this approval, if it has arrived. */
export function findApprovalEmail(outboxDir: string, approvalId: string): OutboxEmail | undefined {
  let files: string[];
  try {
    files = readdirSync(outboxDir).filter((f) => f.endsWith('.json'));
  } catch {
    return undefined;
  }
  const needle = `/approvals/${encodeURIComponent(approvalId)}`;
  for (const file of files.sort().reverse()) {
    const email = JSON.parse(readFileSync(join(outboxDir, file), 'utf8')) as OutboxEmail;
    if (email.links.some((l) => l.includes(needle))) return email;
  }
  return undefined;
}

async function handleEmail(email: OutboxEmail, approvalId: string, options: DemoOptions): Promise<void> {
  const { write } = options;
  const link = email.links.find((l) => l.includes(`/approvals/${encodeURIComponent(approvalId)}`)) ?? '';
  write(`  ✉  email to ${email.to.join(', ')}: "${email.subject}"`);
  write(`     (outbox: ${email.emlFile})`);
  if (!options.autoApprove) {
    write('     Open this link to approve or reject (the run waits for you, even across restarts):');
    write(`     ${link}`);
    return;
  }
  write('     --auto-approve: opening the link and approving');
  try {
    const result = await approveViaLink(link);
    write(`     ${result.ok ? 'approved' : `approval failed: ${result.message}`}`);
  } catch (err) {
    write(`     approval failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
