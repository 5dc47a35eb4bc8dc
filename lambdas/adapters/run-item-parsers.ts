import type { Json, Message } from '../core/model.js';
import type { Ledger, RunMeta, RunStatus, StoredMessage, TrailEvent } from '../core/run-records.js';

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
  };
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
  return out;
}

export function parseTrailEvent(value: unknown): TrailEvent {
  if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
    throw new CorruptItemError('trail event must be an object with a type');
  }
  return value as TrailEvent;
}
