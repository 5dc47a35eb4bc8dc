import { existsSync } from 'node:fs';
import type { OutboxEmail } from '../../../local/aws/ses-outbox.js';
import { respond } from '../../../local/cli/demo-scenario.js';
import type { LocalStack } from '../../../local/runtime/stack.js';
import {
  type RecordedRequest,
  responder,
  type Scenario,
  toolUse,
} from '../../../local/scripted-model/index.js';

/** Debian's Chromium when installed; else the one `@sparticuz/chromium` ships inside its npm package. */
export async function chromiumExecutable(): Promise<string> {
  const system = '/usr/bin/chromium';
  if (existsSync(system)) return system;
  const { default: packaged } = await import('@sparticuz/chromium');
  return packaged.executablePath();
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The note that makes the demo clerk's first call report a near-exhausted token budget. */
export const BUDGET_NOTE = 'large attachment: exhaust the token budget';

function firstUserText(request: RecordedRequest): string {
  const first = request.body.messages.find((m) => m.role === 'user');
  if (!first) return '';
  return typeof first.content === 'string'
    ? first.content
    : first.content.map((b) => ('text' in b && typeof b.text === 'string' ? b.text : '')).join('\n');
}

/** The invoice the budget run looks up: the backend has none, so that tool call fails. */
export const MISSING_INVOICE = 'INV-999999';

/**
 * The `npm start` demo clerk, except that a run whose request carries
 * {@link BUDGET_NOTE} first looks up an invoice that does not exist (a failed
 * tool call) with an answer that used 59,500 input tokens: the next call
 * cannot be reserved under the 60,000-token limit (BudgetExceeded).
 */
export const consoleScenario: Scenario = responder('console demo', (request) =>
  firstUserText(request).includes(BUDGET_NOTE)
    ? {
        ...toolUse('lookup_invoice', { invoice_id: MISSING_INVOICE }, { text: 'Looking that invoice up.' }),
        usage: { inputTokens: 59_500 },
      }
    : respond(request),
);

/** POST /runs on the local stack's API. */
export async function postRun(stack: LocalStack, body: unknown): Promise<string> {
  const res = await fetch(`${stack.apiUrl}/runs`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /runs answered ${res.status}: ${text}`);
  return (JSON.parse(text) as { runId: string }).runId;
}

export interface RunBody {
  runId: string;
  status: string;
  stopReason?: string;
  trail: Array<{ type: string; [k: string]: unknown }>;
}

/** GET /runs/{id} until `until` holds (the interpreter runs on the real clock). */
export async function waitForRun(
  stack: LocalStack,
  runId: string,
  until: (run: RunBody) => boolean,
): Promise<RunBody> {
  for (let i = 0; i < 1200; i++) {
    const run = (await (await fetch(`${stack.apiUrl}/runs/${runId}`)).json()) as RunBody;
    if (until(run)) return run;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`run ${runId} never got there`);
}

/** The approval link of the first email about `runId`, waiting for it. */
export async function approvalLinkFor(
  stack: LocalStack,
  emails: OutboxEmail[],
  runId: string,
): Promise<string> {
  for (let i = 0; i < 1200; i++) {
    const email = emails.find((e) => (e.text ?? '').includes(runId));
    const link = email?.links.find((l) => l.includes('/approvals/'));
    if (link) return link;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `no approval email about run ${runId}; outbox: ${emails.map((e) => e.subject).join(' | ')} (${stack.outboxDir})`,
  );
}
