import { ChaperoneError, OffloadedPayloadMissingError } from './errors.js';
import type { Json, Message } from './model.js';
import { sha256 } from './sha256.js';

/**
 * Large payloads travel as references. A tool result or step output above a
 * threshold is written to the payload bucket (S3 in AWS, a folder locally) and
 * a reference takes its place in DynamoDB and the trail, so no item nears
 * DynamoDB's 400 KB and no state payload nears Step Functions' 256 KB. Where
 * it is read, the reference is resolved; one that cannot be read back (gone,
 * unreadable, not the bytes it names) is the named
 * {@link OffloadedPayloadMissingError}, which stops the run: never a silent
 * empty result.
 *
 * Keys are deterministic (run, name, digest of the content), so a retried
 * step writes the same object again and its reference stays the same.
 */

/** The payload bucket as core sees it (the S3 adapter implements it). */
export interface PayloadStore {
  /** Write an object (overwriting is fine: keys name their content). */
  put(key: string, body: string): Promise<void>;
  /** Read an object; undefined when there is none. */
  get(key: string): Promise<string | undefined>;
}

/** What a reference names: the object's key, its size and its digest. */
export interface OffloadedRef {
  key: string;
  bytes: number;
  sha256: string;
}

/** Above this many bytes (UTF-8 of the JSON text) a value is offloaded. */
export const DEFAULT_OFFLOAD_THRESHOLD_BYTES = 32 * 1024;

/** The one property of a JSON reference: `{ "$chaperoneOffloaded": { key, bytes, sha256 } }`. */
const REF_KEY = '$chaperoneOffloaded';
/** The prefix of a text reference. It starts with a NUL, which no text kept inline starts with (see {@link Offloader.offloadText}). */
const TEXT_PREFIX = '\u0000chaperone-offloaded:';

/** Offload and resolve against one store, for one run. */
export interface Offloader {
  /** The value, or a reference to it when its JSON is above the threshold. */
  offload(name: string, value: Json): Promise<Json>;
  /** A value with its reference (if it is one) read back. */
  resolve(value: Json): Promise<Json>;
  /** The text, or a reference in text form when it is above the threshold. */
  offloadText(name: string, text: string): Promise<string>;
  /** A text with its reference (if it is one) read back. */
  resolveText(text: string): Promise<string>;
  /** Write a value under the run's prefix whatever its size, and return the reference (the full result of a trimmed tool call). */
  keep(name: string, value: Json): Promise<OffloadedRef>;
}

/**
 * An offloader for `runId`. Without a store nothing is offloaded and a
 * reference met on reading is still refused by name (it cannot be read here).
 */
export function offloaderFor(
  runId: string,
  store: PayloadStore | undefined,
  thresholdBytes: number = DEFAULT_OFFLOAD_THRESHOLD_BYTES,
): Offloader {
  const prefix = `runs/${runId}/`;
  const write = async (name: string, body: string): Promise<OffloadedRef> => {
    if (!store)
      throw new OffloadedPayloadMissingError(
        `${name} of run ${runId} is ${Buffer.byteLength(body)} bytes and no payload bucket is configured (PAYLOAD_BUCKET)`,
      );
    const digest = sha256(body);
    const key = `${prefix}${safeName(name)}-${digest.slice(0, 32)}.json`;
    await store.put(key, body);
    return { key, bytes: Buffer.byteLength(body), sha256: digest };
  };
  const read = async (ref: OffloadedRef): Promise<string> => {
    // Keys name their content, so what this container read once it may keep.
    const known = readCache.get(ref.key);
    if (known !== undefined && known.sha === ref.sha256) return known.body;
    const body = await readStored(ref);
    remember(ref.key, { sha: ref.sha256, body });
    return body;
  };
  const readStored = async (ref: OffloadedRef): Promise<string> => {
    if (!ref.key.startsWith(prefix))
      throw new OffloadedPayloadMissingError(
        `the reference ${ref.key} is not under run ${runId}'s ${prefix}`,
      );
    if (!store)
      throw new OffloadedPayloadMissingError(
        `${ref.key} of run ${runId} cannot be read: no payload bucket is configured (PAYLOAD_BUCKET)`,
      );
    let body: string | undefined;
    try {
      body = await store.get(ref.key);
    } catch (err) {
      // A throttle or a 5xx is the bucket's moment, not the payload's loss: the step's Retry takes it.
      if (err instanceof ChaperoneError && err.retryable) throw err;
      throw new OffloadedPayloadMissingError(
        `${ref.key} of run ${runId} could not be read: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`,
        { cause: err },
      );
    }
    if (body === undefined)
      throw new OffloadedPayloadMissingError(`${ref.key} of run ${runId} is not in the payload bucket`);
    if (sha256(body) !== ref.sha256)
      throw new OffloadedPayloadMissingError(
        `${ref.key} of run ${runId} is not the payload its reference names (sha256 differs)`,
      );
    return body;
  };
  const over = (text: string): boolean => Buffer.byteLength(text) > thresholdBytes;
  return {
    async offload(name, value) {
      const text = JSON.stringify(value);
      // A value shaped like a reference is always offloaded, so every inline value is what it says.
      if (!over(text) && !isRefShape(value)) return value;
      return { [REF_KEY]: { ...(await write(name, text)) } };
    },
    async resolve(value) {
      const ref = refOf(value);
      if (!ref) return value;
      const text = await read(ref);
      try {
        return JSON.parse(text) as Json;
      } catch (err) {
        throw new OffloadedPayloadMissingError(`${ref.key} of run ${runId} is not JSON`, { cause: err });
      }
    },
    async offloadText(name, text) {
      if (!over(text) && !text.startsWith(TEXT_PREFIX)) return text;
      return `${TEXT_PREFIX}${JSON.stringify(await write(name, text))}`;
    },
    async resolveText(text) {
      const ref = textRefOf(text);
      return ref ? read(ref) : text;
    },
    keep: (name, value) => write(name, JSON.stringify(value)),
  };
}

/** Payloads this container read, by key (content-addressed, so never stale); the oldest go first. */
const readCache = new Map<string, { sha: string; body: string }>();
let cachedBytes = 0;
const CACHE_MAX_BYTES = 8 * 1024 * 1024;
function remember(key: string, entry: { sha: string; body: string }): void {
  readCache.set(key, entry);
  cachedBytes += entry.body.length;
  for (const [k, v] of readCache) {
    if (cachedBytes <= CACHE_MAX_BYTES) break;
    readCache.delete(k);
    cachedBytes -= v.body.length;
  }
}

/**
 * Messages with every offloaded tool result read back, for the model request.
 * The stored conversation keeps the references, so no item grows past its limit.
 */
export async function resolveMessages(
  messages: readonly Message[],
  offloader: Offloader,
): Promise<Message[]> {
  return Promise.all(
    messages.map(async (m) => {
      if (typeof m.content === 'string') return m;
      if (
        !m.content.some(
          (b) => b.type === 'tool_result' && typeof b.content === 'string' && isOffloaded(b.content),
        )
      )
        return m;
      const content = await Promise.all(
        m.content.map(async (b) =>
          b.type === 'tool_result' && typeof b.content === 'string'
            ? { ...b, content: await offloader.resolveText(b.content) }
            : b,
        ),
      );
      return { ...m, content };
    }),
  );
}

/** Step outputs (by step id) with every offloaded one read back. */
export async function resolveOutputs(
  outputs: Record<string, Json>,
  offloader: Offloader,
): Promise<Record<string, Json>> {
  const out: Record<string, Json> = {};
  for (const [step, value] of Object.entries(outputs)) out[step] = await offloader.resolve(value);
  return out;
}

/** The reference a JSON value is, if it is one. */
export function refOf(value: Json | undefined): OffloadedRef | undefined {
  if (!isRefShape(value)) return undefined;
  return parseRef((value as Record<string, Json>)[REF_KEY]);
}

/** The reference a text is, if it is one. */
export function textRefOf(text: string): OffloadedRef | undefined {
  if (!text.startsWith(TEXT_PREFIX)) return undefined;
  try {
    return parseRef(JSON.parse(text.slice(TEXT_PREFIX.length)) as Json);
  } catch {
    throw new OffloadedPayloadMissingError('a text reference is damaged: its JSON does not parse');
  }
}

/** Whether a value or text is a reference (without reading it). */
export function isOffloaded(value: Json | undefined): boolean {
  return typeof value === 'string' ? value.startsWith(TEXT_PREFIX) : isRefShape(value);
}

function isRefShape(value: Json | undefined): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === 1 &&
    REF_KEY in value
  );
}

function parseRef(v: Json | undefined): OffloadedRef {
  if (
    v &&
    typeof v === 'object' &&
    !Array.isArray(v) &&
    typeof v.key === 'string' &&
    typeof v.bytes === 'number' &&
    typeof v.sha256 === 'string'
  )
    return { key: v.key, bytes: v.bytes, sha256: v.sha256 };
  throw new OffloadedPayloadMissingError(`a payload reference is damaged: ${JSON.stringify(v)}`);
}

/** A key segment from a name (`tool_call#agent#toolu_1` → `tool_call-agent-toolu_1`). */
function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 200);
}
