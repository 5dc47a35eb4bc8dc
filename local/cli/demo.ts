/**
 * The demo run of `npm start`: `POST /runs` over HTTP (or follow a run left
 * running by an earlier start), then poll `GET /runs/{id}` and print each
 * trail event as it lands. Each approval the run asks for is matched to its
 * email in the outbox; its link is printed for the person to open, decided
 * at a prompt on standard input (`answers`), or followed automatically with
 * `--auto-approve`. Every decision goes through the signed link, as the
 * page's buttons do.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OutboxEmail } from '../aws/services.js';
import type { LocalStack } from '../runtime/stack.js';
import type { Answers } from './answers.js';
import { decideViaLink, resolveLink } from './approve.js';
import { eventLine, noTotals, type RunView, summary, type Writer } from './print.js';

/** The User-Agent of the demo's own polling, which the dev-server log leaves out unless --verbose. */
export const DEMO_USER_AGENT = 'chaperone-npm-start';

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
  /** Standard input, to decide approvals at a prompt; absent: only the link decides. */
  answers?: Answers;
}

const TERMINAL = new Set(['SUCCEEDED', 'STOPPED', 'FAILED', 'REJECTED']);

/** Starts one run through the API (or follows one) to the end; returns its final view. */
export async function runDemo(options: DemoOptions): Promise<RunView> {
  const { stack, write } = options;
  const pollMs = options.pollMs ?? 250;
  const totals = noTotals();
  const seen = new Set<string>();
  const handled = new Set<string>();
  /** Open prompts by approval id: aborted once the approval is decided some other way. */
  const prompts = new Map<string, AbortController>();
  const state: PromptState = { toldHow: false };
  const runId = options.followRunId ?? (await startRun(options));
  try {
    return await follow();
  } finally {
    for (const prompt of prompts.values()) prompt.abort();
  }

  async function follow(): Promise<RunView> {
    for (;;) {
      const res = await fetch(`${stack.apiUrl}/runs/${encodeURIComponent(runId)}`, {
        headers: { 'user-agent': DEMO_USER_AGENT },
      });
      const run = (await res.json()) as RunView;
      if (!res.ok) throw new Error(`GET /runs/${runId} answered ${res.status}: ${JSON.stringify(run)}`);
      for (const event of run.trail ?? []) {
        if (seen.has(event.seq)) continue;
        seen.add(event.seq);
        const line = eventLine(event, run, totals);
        if (line !== undefined) write(line);
      }
      const pending = pendingApprovals(run);
      for (const [approvalId, prompt] of prompts) {
        if (pending.includes(approvalId)) continue;
        prompt.abort();
        prompts.delete(approvalId);
      }
      for (const approvalId of pending) {
        if (handled.has(approvalId)) continue;
        const email = findApprovalEmail(stack.outboxDir, approvalId);
        if (!email) continue; // the email lands just after the trail event; next poll
        handled.add(approvalId);
        const link = await handleEmail(email, approvalId, options);
        if (link && !options.autoApprove) {
          const prompt = new AbortController();
          prompts.set(approvalId, prompt);
          void askAtPrompt(link, options, state, prompt.signal);
        }
      }
      if (TERMINAL.has(run.status)) {
        for (const line of summary(run)) write(line);
        return run;
      }
      await sleep(pollMs, options.signal);
    }
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

/** Prints the email and its link; with --auto-approve decides it. Returns the link at the current address. */
async function handleEmail(
  email: OutboxEmail,
  approvalId: string,
  options: DemoOptions,
): Promise<string | undefined> {
  const { write, stack } = options;
  const emailed = email.links.find((l) => l.includes(`/approvals/${encodeURIComponent(approvalId)}`));
  write(`  ✉  email to ${email.to.join(', ')}: "${email.subject}"`);
  write(`     (outbox: ${email.emlFile})`);
  if (!emailed) {
    write('     (the email has no approval link)');
    return undefined;
  }
  const link = resolveLink(emailed, stack.apiUrl);
  if (link !== emailed)
    write(
      `     (the email's link names ${new URL(emailed).origin}, an earlier address of this stack; using ${stack.apiUrl})`,
    );
  if (!options.autoApprove) {
    write('     Open this link to approve or reject (the run waits for you, even across restarts):');
    write(`     ${link}`);
    return link;
  }
  write('     --auto-approve: opening the link and approving');
  try {
    const result = await decideViaLink(link, 'approve', 'approved by npm start --auto-approve');
    write(`     ${result.ok ? 'approved' : `approval failed: ${result.message}`}`);
  } catch (err) {
    write(`     approval failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  return link;
}

interface PromptState {
  /** The how-to-decide note was printed (once per demo). */
  toldHow: boolean;
}

const PROMPT = '     Decide here: [a]pprove, [r]eject, [o]pen the link in a browser > ';

/**
 * The prompt for one approval: in a terminal it asks; on a pipe it reads
 * lines quietly (`a`, `approve`, `r <why>`, `reject <why>`) after saying how
 * to decide. End of input leaves the decision to the link. `signal` aborts
 * when the approval is decided some other way.
 */
async function askAtPrompt(
  link: string,
  options: DemoOptions,
  state: PromptState,
  signal: AbortSignal,
): Promise<void> {
  const { answers, write } = options;
  const tellHow = (why: string): void => {
    if (state.toldHow) return;
    state.toldHow = true;
    write(`     ${why} Decide with the link above, or from another terminal:`);
    write(`       npm run chaperone -- approvals approve '${link}'`);
    write(`       npm run chaperone -- approvals reject '${link}' --comment '<why>'`);
    write('     Waiting for the decision…');
  };
  if (!answers || answers.ended) return tellHow('Standard input is closed, so nothing can be decided here.');
  if (!answers.interactive)
    tellHow("Standard input is not a terminal: a line 'a' (approve) or 'r <why>' (reject) on it decides.");
  for (;;) {
    const line = await answers.next(PROMPT, signal);
    if (signal.aborted) return;
    if (line === undefined) return tellHow('Standard input ended without a decision.');
    const [word = '', ...rest] = line.split(/\s+/);
    const choice = word.toLowerCase();
    let decision: 'approve' | 'reject';
    let comment = rest.join(' ');
    if (choice === 'a' || choice === 'approve') {
      decision = 'approve';
      comment ||= 'approved at the npm start prompt';
    } else if (choice === 'r' || choice === 'reject') {
      decision = 'reject';
      while (!comment) {
        const why = await answers.next('     Why? The model reads it > ', signal);
        if (signal.aborted) return;
        if (why === undefined) return tellHow('Standard input ended without a decision.');
        comment = why;
      }
    } else if (choice === 'o' || choice === 'open') {
      write(`     ${await openInBrowser(link)}`);
      continue;
    } else {
      if (choice !== '') write('     Type a (approve), r <why> (reject) or o (open the link in a browser).');
      continue;
    }
    const result = await decideViaLink(link, decision, comment).catch(
      (err: unknown): { ok: false; status: number; message: string } => ({
        ok: false,
        status: 0,
        message: err instanceof Error ? err.message : String(err),
      }),
    );
    if (signal.aborted) return;
    write(`     ${result.ok ? result.message : `not decided: ${result.message}`}`);
    if (result.ok || result.status === 409 || result.status === 410) return;
  }
}

/** Opens `link` in the desktop's browser; says what happened. */
function openInBrowser(link: string): Promise<string> {
  const [command, ...args] =
    process.platform === 'darwin'
      ? ['open', link]
      : process.platform === 'win32'
        ? ['cmd', '/c', 'start', '""', link]
        : ['xdg-open', link];
  return new Promise((resolve) => {
    const child = spawn(command ?? 'xdg-open', args, { stdio: 'ignore', detached: true });
    child.once('error', (err) =>
      resolve(`could not start a browser (${command}: ${err.message}); open the link above yourself`),
    );
    child.once('spawn', () => {
      child.unref();
      resolve('opened the link in your browser; decide there (or here)');
    });
  });
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
