import type { HistoryEvent } from '../sfn/history.js';
import { isObject } from '../sfn/types.js';
import { diff } from './compare.js';

/** Detail keys never compared (names/ARNs/roles/tokens/SDK metadata differ by design). */
const IGNORED = new Set([
  'roleArn',
  'timestamp',
  'stateMachineArn',
  'mapRunArn',
  'SdkHttpMetadata',
  'SdkResponseMetadata',
]);

/** Placeholders the snapshot tool wrote without angle brackets. */
const BARE_PLACEHOLDERS = [
  'lambda_function_name',
  'sqs_queue_url',
  'snf_role_arn',
  'sfn_role_arn',
  'task_token',
  'message_id',
  'map_run_arn',
  'date',
  'timestamp',
  'datetime',
  'start-time',
  'entered-time',
];

/** The snapshot tool parsed string values that start with `{`; do the same to ours. */
function normalise(value: unknown): unknown {
  if (typeof value === 'string') {
    const t = value.replace(/000000000000/g, '111111111111');
    if (t.startsWith('{')) {
      try {
        return normalise(JSON.parse(t));
      } catch {
        return t;
      }
    }
    return t;
  }
  if (Array.isArray(value)) return value.map(normalise);
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!IGNORED.has(k)) out[k] = normalise(v);
    return out;
  }
  return value;
}

function strip(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(strip);
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (!IGNORED.has(k)) out[k] = strip(v);
    return out;
  }
  return value;
}

/**
 * Compares recorded events with ours event by event: id, previousEventId,
 * type and details (placeholders as wildcards). Returns the first difference.
 */
export function historyDetailDiff(
  recorded: unknown[],
  actual: HistoryEvent[],
  placeholders: string[],
): string | undefined {
  if (recorded.length !== actual.length) return `length: expected ${recorded.length} got ${actual.length}`;
  for (let i = 0; i < recorded.length; i++) {
    const exp = strip(recorded[i]) as Record<string, unknown>;
    const { timestamp: _t, ...rest } = actual[i] as HistoryEvent;
    const got = normalise(rest);
    const d = diff(exp, got, [...BARE_PLACEHOLDERS, ...placeholders], `#${i + 1} ${String(exp.type)}`);
    if (d) return d;
  }
  return undefined;
}
