/**
 * A `fetch` for the model SDKs over `node:http`/`node:https` with keep-alive
 * agents: one request, its whole answer read into a `Response`.
 *
 * Why not the global `fetch`: Node's fetch (undici) clones every request that
 * may be redirected, tees its body into two web streams and builds a third
 * for the answer, about 150–200 µs of CPU per call on this machine against
 * 80–100 µs here (`local/bench` measures the agent loop with both), and it
 * loads undici on its first call, which a cold start pays for. The SDKs take a
 * `fetch` option for this. What this one does not do, because the APIs it
 * serves never need it: follow redirects (a 3xx is answered as it is, and the
 * SDK reports it as an error status), or stream a request body (a body that
 * is not text or bytes goes to the global `fetch`). A compressed answer is
 * decoded as `fetch` would; none is asked for (no `accept-encoding` is sent).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';

/** How long an idle connection is trusted when the server does not say: under the usual 5 s. */
const IDLE_TRUST_MS = 4_000;

/**
 * One protocol's keep-alive connections, kept per container so a warm
 * invocation reuses the last one's. Whether an idle connection is still open
 * is decided by the clock when a request starts, as undici does, not by a
 * timer: a container frozen between invocations (Lambda) runs no timers, and
 * on thaw would send on a connection the server closed meanwhile (a reset on
 * the first call after every long pause). Idle longer than the server's
 * `Keep-Alive: timeout` less a second (or {@link IDLE_TRUST_MS}), the
 * connections are dropped and the request opens a new one.
 */
class Connections {
  private agent: HttpAgent;
  private inFlight = 0;
  /** When the last request in flight ended (0: never used). */
  private idleSince = 0;
  private trustMs = IDLE_TRUST_MS;

  constructor(private readonly make: () => HttpAgent) {
    this.agent = make();
  }

  take(now: number): HttpAgent {
    if (this.inFlight === 0 && this.idleSince > 0 && now - this.idleSince >= this.trustMs) {
      this.agent.destroy();
      this.agent = this.make();
    }
    this.inFlight += 1;
    return this.agent;
  }

  /** A request ended; `keepAlive` is its answer's `Keep-Alive` header, if any. */
  release(now: number, keepAlive?: string): void {
    this.inFlight -= 1;
    if (this.inFlight === 0) this.idleSince = now;
    const hint = keepAlive ? /timeout=(\d+)/i.exec(keepAlive)?.[1] : undefined;
    if (hint !== undefined) this.trustMs = Math.max(0, Math.min(IDLE_TRUST_MS, Number(hint) * 1000 - 1000));
  }
}

const AGENT = { keepAlive: true, timeout: 5_000, scheduling: 'lifo' } as const;
const pools = {
  http: new Connections(() => new HttpAgent(AGENT)),
  https: new Connections(() => new HttpsAgent(AGENT)),
};

/** Statuses whose answer has no body (the `Response` constructor refuses one). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** What `fetch` rejects with when its signal aborts it. */
function abortError(signal: AbortSignal): unknown {
  return signal.reason instanceof Error
    ? signal.reason
    : new DOMException('This operation was aborted', 'AbortError');
}

/** The request body as bytes or text, or undefined when it is something this fetch leaves to the global one. */
function bodyOf(body: RequestInit['body']): string | Uint8Array | null | undefined {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  return undefined;
}

/**
 * The answer's bytes with its content-encodings undone, last applied first,
 * as fetch does; an encoding it does not know leaves the bytes as they came
 * (fetch's choice too), so an answered request is never made a failed one.
 */
function decoded(body: Buffer, encoding: string | undefined): Buffer {
  const codings = (encoding ?? '')
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  let out = body;
  for (const coding of codings.reverse()) {
    if (coding === 'gzip' || coding === 'x-gzip') out = gunzipSync(out);
    else if (coding === 'deflate') out = inflateSync(out);
    else if (coding === 'br') out = brotliDecompressSync(out);
    else return body;
  }
  return out;
}

/**
 * `fetch(input, init)` over a keep-alive connection: the SDKs' transport
 * (`fetch` in their client options). Rejects with an `AbortError` when
 * `init.signal` aborts (also while the answer is read) and with a
 * `TypeError` (`cause`: the socket's error) when the connection fails, as
 * `fetch` does.
 */
export async function nodeFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const body = bodyOf(init.body);
  if (input instanceof Request || body === undefined) return fetch(input, init);
  const url = input instanceof URL ? input : new URL(input);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return fetch(input, init);
  const signal = init.signal ?? undefined;
  if (signal?.aborted) throw abortError(signal);
  const headers: Record<string, string> = {};
  // The SDKs hand over a Headers already: read, not copied (a copy validates every header again).
  const given = init.headers instanceof Headers ? init.headers : new Headers(init.headers);
  given.forEach((value, name) => {
    headers[name] = value;
  });
  const https = url.protocol === 'https:';
  const pool = https ? pools.https : pools.http;
  const agent = pool.take(Date.now());
  return new Promise<Response>((resolve, reject) => {
    let settled = false;
    let keepAlive: string | undefined;
    const done = (err: unknown, response?: Response) => {
      if (settled) return;
      settled = true;
      pool.release(Date.now(), keepAlive);
      signal?.removeEventListener('abort', onAbort);
      if (response) resolve(response);
      else reject(err);
    };
    const onAbort = () => {
      const err = signal ? abortError(signal) : undefined;
      req.destroy();
      done(err);
    };
    const failed = (cause: unknown) => done(new TypeError('fetch failed', { cause }));
    const req = (https ? httpsRequest : httpRequest)(
      url,
      { method: (init.method ?? 'GET').toUpperCase(), headers, agent },
      (res: IncomingMessage) => {
        const hint = res.headers['keep-alive'];
        keepAlive = Array.isArray(hint) ? hint[0] : hint;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', failed);
        res.on('aborted', () => failed(new Error('the connection closed before the answer ended')));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const answer = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value === undefined) continue;
            if (Array.isArray(value)) for (const v of value) answer.append(name, v);
            else answer.set(name, value);
          }
          try {
            const all = NULL_BODY.has(status)
              ? undefined
              : decoded(Buffer.concat(chunks), res.headers['content-encoding']);
            // A view of the bytes read, not a copy (never a SharedArrayBuffer).
            const bytes = all
              ? new Uint8Array(all.buffer as ArrayBuffer, all.byteOffset, all.byteLength)
              : null;
            done(
              undefined,
              new Response(bytes, { status, statusText: res.statusMessage ?? '', headers: answer }),
            );
          } catch (err) {
            failed(err);
          }
        });
      },
    );
    req.on('error', failed);
    signal?.addEventListener('abort', onAbort, { once: true });
    req.end(body ?? undefined);
  });
}
