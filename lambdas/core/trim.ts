import { utf8Bytes } from './canonical.js';

export interface TrimmedResult {
  /** The text that enters the conversation. */
  content: string;
  originalBytes: number;
  bytes: number;
  trimmed: boolean;
}

/**
 * Cut a tool result down before it enters the context: project to the named
 * fields (of the object, or of each item of an array), then cap the JSON text
 * at `maxBytes`, saying how much was cut so the model knows it saw a part.
 */
export function trimResult(
  result: unknown,
  policy: { maxBytes: number; fields?: readonly string[] },
): TrimmedResult {
  const full = toText(result);
  const originalBytes = utf8Bytes(full);
  const projected = policy.fields ? toText(project(result, policy.fields)) : full;
  if (utf8Bytes(projected) <= policy.maxBytes) {
    return { content: projected, originalBytes, bytes: utf8Bytes(projected), trimmed: projected !== full };
  }
  const marker = `\n…[trimmed: the result was ${originalBytes} bytes; only the first part is shown. Ask for something narrower.]`;
  const budget = Math.max(0, policy.maxBytes - utf8Bytes(marker));
  const head = Buffer.from(projected, 'utf8')
    .subarray(0, budget)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
  const content = head + marker;
  return { content, originalBytes, bytes: utf8Bytes(content), trimmed: true };
}

function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value ?? null);
}

function project(value: unknown, fields: readonly string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => project(v, fields));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const f of fields) if (f in value) out[f] = (value as Record<string, unknown>)[f];
  return out;
}
