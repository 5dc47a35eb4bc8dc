import type { IncomingHttpHeaders } from 'node:http';

/**
 * AWS endpoints served by this very thread: the local runtime's stand-ins
 * register here when the handlers run beside them (the test harness,
 * `chaperone/testing`), so a request to one is answered by a function call
 * instead of a loopback socket, a signature and its check. Nothing registers
 * in Lambda, where every request goes out signed as usual; a function in a
 * worker thread (the local stack's) has a registry of its own, empty, and
 * talks HTTP too.
 *
 * The request and the answer cross as bytes (the JSON the wire would
 * carry), or, to an endpoint served with `values: true`, as that JSON's
 * value: built for the one request (or answer) and handed over, never looked
 * at again by the side that built it, so neither side can see or change
 * objects the other keeps, and the service's answers (statuses, error
 * bodies, headers) are the HTTP path's. A value saves the encoding and the
 * parse on both sides; an error answer always comes as bytes.
 * A registered endpoint is trusted as a caller in the same process already
 * is: the signature that keeps other processes out has nothing to add.
 */
export interface InProcessRequest {
  readonly method: string;
  /** The path with its query, as the HTTP request line would carry it. */
  readonly path: string;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  /** Empty when the body comes as {@link value}. */
  readonly body: Buffer;
  /**
   * The body as its JSON value instead of bytes (only to an endpoint served
   * with `values: true`): the endpoint's to keep or change.
   */
  readonly value?: unknown;
}

/** What an in-process endpoint answers: as an HTTP response would. */
export interface InProcessResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Empty when the body comes as {@link value}. */
  readonly body: Buffer;
  /**
   * The body as its JSON value instead of bytes, to a request that came as a
   * value and succeeded: the caller's to keep or change.
   */
  readonly value?: unknown;
}

export type InProcessEndpoint = ((request: InProcessRequest) => Promise<InProcessResponse>) & {
  /** Takes request bodies as values (`serveInProcess`'s `values`). */
  readonly takesValues?: boolean;
};

// On globalThis (per thread), so that a bundled copy of this module and the local runtime's share it.
const REGISTRY = Symbol.for('chaperone.inProcessEndpoints');
type Registry = Map<string, InProcessEndpoint>;

function registry(): Registry {
  const g = globalThis as { [REGISTRY]?: Registry };
  g[REGISTRY] ??= new Map();
  return g[REGISTRY];
}

/**
 * Serves requests to `origin` (`http://127.0.0.1:4567`) from this thread with
 * `endpoint`; returns the function that stops it. Refuses an origin another
 * endpoint serves already. `values`: the endpoint reads a request's
 * `value` when it has one (a JSON API's), and may answer with one.
 */
export function serveInProcess(
  origin: string,
  endpoint: (request: InProcessRequest) => Promise<InProcessResponse>,
  options: { values?: boolean } = {},
): () => void {
  const key = new URL(origin).origin;
  const endpoints = registry();
  if (endpoints.has(key)) throw new Error(`serveInProcess: ${key} is served in this process already`);
  const entry: InProcessEndpoint = Object.assign((request: InProcessRequest) => endpoint(request), {
    takesValues: options.values === true,
  });
  endpoints.set(key, entry);
  return () => {
    if (endpoints.get(key) === entry) endpoints.delete(key);
  };
}

/** The endpoint this thread serves at `url`'s origin, if any. */
export function inProcessEndpoint(url: URL): InProcessEndpoint | undefined {
  const g = globalThis as { [REGISTRY]?: Registry };
  return g[REGISTRY]?.get(url.origin);
}
