import type { Tool } from '../../state-machines/tool.js';
import { CorruptRecordError } from './errors.js';
import type { Json } from './model.js';
import type { Completion, RunStore } from './run-records.js';
import { sha256 } from './sha256.js';

/**
 * Exactly once: claim before acting. Every step that acts on the world —
 * starting a run, a model call, a tool call, an approval decision, closing a
 * run — is retried by someone (a client, Step Functions `Retry`, a restarted
 * runtime), so each follows one mechanism:
 *
 * 1. **Claim** a record keyed by what the step is (run, step, iteration, tool
 *    call) before acting. A model call's claim holds its budget reservation
 *    on the ledger under the same key, so a retry reuses it and it settles once.
 * 2. **Act** once. A tool gets an idempotency key derived from its claim.
 * 3. **Complete** the claim with everything it produced — result, trail
 *    events, tool results, settled cost — in one write, every part under a
 *    deterministic key, so a repeated completion writes nothing new.
 *
 * A retry that finds a completed claim returns its result. One that finds an
 * attempt begun but not completed does not guess: an idempotent tool runs
 * again with the same key; anything else goes to a human ("may or may not
 * have happened: check"). The keys and event ids live here, in one place.
 */

const pad = (n: number) => String(n).padStart(6, '0');

/** Claim keys: what each acting step is. */
/**
 * Whether a tool's call skips its claim on the Task's first attempt: an
 * ungated read tool, which has no effect to fence (`tool-step.ts`). Such a
 * call leaves no record until it completes, so a missing claim does not say
 * that it never started (`conversation.ts`).
 */
export function unclaimedFirstAttempt(tool: Pick<Tool, 'access' | 'approval'>): boolean {
  return tool.access === 'read' && !tool.approval;
}

export const claimKeys = {
  model: (step: string, iteration: number) => `model#${step}#${pad(iteration)}`,
  tool: (step: string, toolUseId: string) => `tool#${step}#${toolUseId}`,
  code: (step: string) => `code#${step}`,
} as const;

/**
 * Trail event ids: deterministic from (step, iteration, kind, call), so an
 * event is written at most once however often its step runs.
 */
export const eventIds = {
  runStarted: () => 'run_started',
  runFinished: () => 'run_finished',
  modelCall: (step: string, iteration: number) => `model_call#${step}#${pad(iteration)}`,
  modelError: (step: string, iteration: number, attempt: number) =>
    `model_error#${step}#${pad(iteration)}#${attempt}`,
  /** The `n`th lost use of one hold (its `charged` count before this charge): one event per charge, whoever makes it. */
  modelLost: (step: string, iteration: number, n: number, call?: 'summary' | 'classifier') =>
    `model_lost#${step}#${pad(iteration)}#${call ? `${call}#` : ''}${n}`,
  budgetRefused: (step: string, iteration: number) => `budget_refused#${step}#${pad(iteration)}`,
  toolCall: (step: string, toolUseId: string) => `tool_call#${step}#${toolUseId}`,
  toolRejected: (step: string, toolUseId: string) => `tool_rejected#${step}#${toolUseId}`,
  guardrail: (rule: string, step: string, subject: string) => `guardrail#${rule}#${step}#${subject}`,
  approvalRequested: (approvalId: string) => `approval_requested#${approvalId}`,
  approvalSent: (approvalId: string) => `approval_sent#${approvalId}`,
  approvalDecided: (approvalId: string) => `approval_decided#${approvalId}`,
  stepOutput: (step: string) => `step_output#${step}`,
  runRedriven: (redriveDate: string) => `run_redriven#${redriveDate}`,
  budgetExtended: (approvalId: string) => `budget_extended#${approvalId}`,
  approvalReminded: (approvalId: string, phase: string) => `approval_reminded#${approvalId}#${phase}`,
  approvalEscalated: (approvalId: string) => `approval_escalated#${approvalId}`,
} as const;

/**
 * An id derived from what it names (for records in other tables, such as an
 * approval opened by a turn): the same inputs always give the same id.
 */
export function derivedId(prefix: string, ...parts: readonly (string | number)[]): string {
  const h = sha256(parts.join('\u0000'));
  return `${prefix}${h.slice(0, 26)}`;
}

/**
 * Complete a claim and say which result counts: this completion's when it
 * was the first (`first`), else the one the attempt that got there first
 * stored — the one the trail shows and later steps read.
 */
export async function completeOnce(
  store: RunStore,
  runId: string,
  key: string,
  completion: Completion,
): Promise<{ first: boolean; result: Json }> {
  if (await store.completeClaim(runId, key, completion)) return { first: true, result: completion.result };
  const stored = (await store.getClaim(runId, key))?.result;
  if (stored === undefined)
    throw new CorruptRecordError(`claim ${key} of run ${runId} is done without a result`);
  return { first: false, result: stored };
}
