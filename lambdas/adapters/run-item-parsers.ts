import type { Json, Message } from '../core/model.js';
import type {
  Claim,
  Ledger,
  OpenReservation,
  RunMeta,
  RunStatus,
  StoredMessage,
  TrailEvent,
} from '../core/run-records.js';

/**
 * Parsers for items read back from DynamoDB: a trust boundary, so every field
 * is checked, and a malformed item fails loudly naming the field.
 */
export class CorruptItemError extends Error {
  override readonly name = 'CorruptItemError';
}

const STATUSES: readonly RunStatus[] = ['RUNNING', 'SUCCEEDED', 'STOPPED', 'FAILED', 'REJECTED'];

function str(item: Record<string, unknown>, key: string): string {
  const v = item[key];
  if (typeof v !== 'string') throw new CorruptItemError(`${key} must be a string, got ${typeof v}`);
  return v;
}
function optStr(item: Record<string, unknown>, key: string): string | undefined {
  const v = item[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new CorruptItemError(`${key} must be a string`);
  return v;
}
function num(item: Record<string, unknown>, key: string): number {
  const v = item[key];
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new CorruptItemError(`${key} must be a number, got ${String(v)}`);
  return v;
}

export function parseRunMeta(item: Record<string, unknown>): RunMeta {
  const status = str(item, 'status');
  if (!STATUSES.includes(status as RunStatus))
    throw new CorruptItemError(`status ${status} is not a run status`);
  const meta: RunMeta = {
    runId: str(item, 'runId'),
    workflow: str(item, 'workflow'),
    input: (item.input ?? null) as Json,
    status: status as RunStatus,
    createdAt: str(item, 'createdAt'),
    updatedAt: str(item, 'updatedAt'),
    deadline: num(item, 'deadline'),
  };
  for (const key of ['tenant', 'executionArn', 'stopReason', 'stopDetail', 'error', 'answer'] as const) {
    const v = optStr(item, key);
    if (v !== undefined) meta[key] = v;
  }
  return meta;
}

export function parseLedger(item: Record<string, unknown>): Ledger {
  return {
    tokenLimit: num(item, 'tokenLimit'),
    tokensRemaining: num(item, 'tokensRemaining'),
    tokensUsed: num(item, 'tokensUsed'),
    costLimitMicros: num(item, 'costLimitMicros'),
    costRemainingMicros: num(item, 'costRemainingMicros'),
    costUsedMicros: num(item, 'costUsedMicros'),
    stepLimit: num(item, 'stepLimit'),
    stepsRemaining: num(item, 'stepsRemaining'),
    stepsUsed: num(item, 'stepsUsed'),
    toolFailureLimit: num(item, 'toolFailureLimit'),
    toolFailures: num(item, 'toolFailures'),
    ...optionalNumbers(item, ['marginTokens', 'marginCostMicros', 'marginSteps', 'historyEvents']),
    ...(isRecord(item.extended)
      ? {
          extended: {
            steps: num(item.extended, 'steps'),
            tokens: num(item.extended, 'tokens'),
            costMicros: num(item.extended, 'costMicros'),
            seconds: num(item.extended, 'seconds'),
          },
        }
      : {}),
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalNumbers<K extends string>(item: Record<string, unknown>, keys: readonly K[]) {
  const out: Partial<Record<K, number>> = {};
  for (const k of keys) if (item[k] !== undefined) out[k] = num(item, k);
  return out;
}

export function parseStoredMessage(item: Record<string, unknown>): StoredMessage {
  const message = item.message;
  if (typeof message !== 'object' || message === null)
    throw new CorruptItemError('message must be an object');
  const role = (message as { role?: unknown }).role;
  const content = (message as { content?: unknown }).content;
  if (role !== 'user' && role !== 'assistant')
    throw new CorruptItemError('message.role must be user or assistant');
  if (typeof content !== 'string' && !Array.isArray(content))
    throw new CorruptItemError('message.content must be text or blocks');
  const out: StoredMessage = { iteration: num(item, 'iteration'), message: message as Message };
  if (typeof item.inputTokens === 'number') out.inputTokens = item.inputTokens;
  if (typeof item.outputTokens === 'number') out.outputTokens = item.outputTokens;
  if (Array.isArray(item.caps)) out.caps = item.caps.map(String);
  const used = item.used as { tokens?: unknown; costMicros?: unknown } | undefined;
  if (used && typeof used.tokens === 'number' && typeof used.costMicros === 'number')
    out.used = { tokens: used.tokens, costMicros: used.costMicros };
  const final = item.finalAnswer as { limit?: unknown; note?: unknown } | undefined;
  if (final && typeof final.limit === 'string' && typeof final.note === 'string')
    out.finalAnswer = {
      limit: final.limit as NonNullable<StoredMessage['finalAnswer']>['limit'],
      note: final.note,
    };
  return out;
}

const CLAIM_STATES = ['acting', 'done'] as const;

/** A claim record; an unknown shape is refused by name, never guessed at. */
export function parseClaim(item: Record<string, unknown>): Claim {
  const state = str(item, 'state');
  if (!(CLAIM_STATES as readonly string[]).includes(state))
    throw new CorruptItemError(
      `claim ${String(item.sk)}: state "${state}" is not one of ${CLAIM_STATES.join(', ')}`,
    );
  const claim: Claim = {
    key: str(item, 'key'),
    state: state as Claim['state'],
    attempts: num(item, 'attempts'),
  };
  if (item.result !== undefined) claim.result = item.result as Json;
  const approvalId = optStr(item, 'approvalId');
  if (approvalId) claim.approvalId = approvalId;
  if (typeof item.askedRounds === 'number') claim.askedRounds = item.askedRounds;
  if (state === 'done' && item.result === undefined)
    throw new CorruptItemError(`claim ${String(item.sk)}: done without a result`);
  return claim;
}

/** The reservations held on a ledger item's `open` map. */
export function parseOpenReservations(item: Record<string, unknown>): Record<string, OpenReservation> {
  const open = item.open;
  if (open === undefined) return {};
  if (typeof open !== 'object' || open === null) throw new CorruptItemError('ledger open must be a map');
  const out: Record<string, OpenReservation> = {};
  for (const [key, v] of Object.entries(open as Record<string, Record<string, unknown>>)) {
    out[key] = {
      tokens: num(v, 'tokens'),
      costMicros: num(v, 'costMicros'),
      steps: num(v, 'steps'),
      caps: Array.isArray(v.caps) ? v.caps.map(String) : [],
      ...(typeof v.charged === 'number' ? { charged: v.charged } : {}),
      ...(typeof v.margin === 'string' ? { margin: v.margin as NonNullable<OpenReservation['margin']> } : {}),
    };
  }
  return out;
}

export function parseTrailEvent(value: unknown): TrailEvent {
  if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
    throw new CorruptItemError('trail event must be an object with a type');
  }
  return value as TrailEvent;
}
