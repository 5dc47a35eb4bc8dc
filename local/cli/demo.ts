/**
 * The demo run of `npm start`: `POST /runs` over HTTP, then poll
 * `GET /runs/{id}` and print each trail event as it lands; approval emails
 * are printed (with their link) and approved automatically only when asked.
 */
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
  /** @default 250 */
  pollMs?: number;
  /** Stops waiting (Ctrl-C); the run itself goes on in the data dir. */
  signal?: AbortSignal;
}

const TERMINAL = new Set(['SUCCEEDED', 'STOPPED', 'FAILED', 'REJECTED']);

/** Starts one run through the API and follows it to the end; returns its final view. */
export async function runDemo(options: DemoOptions): Promise<RunView> {
  const { stack, write } = options;
  const pollMs = options.pollMs ?? 250;
  // Emails are printed after the trail lines of the same poll, so the output reads in order.
  const inbox: OutboxEmail[] = [];
  const onEmail = (email: OutboxEmail): void => {
    inbox.push(email);
  };
  const totals = noTotals();
  stack.events.on('email', onEmail);
  try {
    const started = await fetch(`${stack.apiUrl}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workflow: options.workflow, input: options.input }),
    });
    const body = (await started.json()) as { runId?: string; message?: string; error?: string };
    if (!started.ok || typeof body.runId !== 'string') {
      throw new Error(`POST /runs answered ${started.status}: ${JSON.stringify(body)}`);
    }
    write(`POST ${stack.apiUrl}/runs → ${started.status}, run ${body.runId}`);
    const seen = new Set<string>();
    for (;;) {
      const res = await fetch(`${stack.apiUrl}/runs/${encodeURIComponent(body.runId)}`);
      const run = (await res.json()) as RunView;
      if (!res.ok) throw new Error(`GET /runs/${body.runId} answered ${res.status}: ${JSON.stringify(run)}`);
      for (const event of run.trail ?? []) {
        if (seen.has(event.seq)) continue;
        seen.add(event.seq);
        const line = eventLine(event, run, totals);
        if (line !== undefined) write(line);
      }
      for (const email of inbox.splice(0)) await handleEmail(email, options);
      if (TERMINAL.has(run.status)) {
        for (const line of summary(run)) write(line);
        return run;
      }
      await sleep(pollMs, options.signal);
    }
  } finally {
    stack.events.off('email', onEmail);
  }
}

async function handleEmail(email: OutboxEmail, options: DemoOptions): Promise<void> {
  const { write } = options;
  const link = email.links.find((l) => l.includes('/approvals/'));
  write(`  ✉  email to ${email.to.join(', ')}: "${email.subject}" (outbox: ${email.emlFile})`);
  if (!link) return;
  if (!options.autoApprove) {
    write(`     Open this link to decide (the run waits, even across restarts):\n     ${link}`);
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
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
