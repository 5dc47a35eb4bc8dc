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
 * The request and the answer still cross as bytes (the JSON the wire would
 * carry), so neither side can see or change the other's objects, and the
 * service's answers (statuses, error bodies, headers) are the HTTP path's.
 * A registered endpoint is trusted as a caller in the same process already
 * is: the signature that keeps other processes out has nothing to add.
 */
export interface InProcessRequest {
  readonly method: string;
  /** The path with its query, as the HTTP request line would carry it. */
  readonly path: string;
  /** Lower-case header names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
}

/** What an in-process endpoint answers: as an HTTP response would. */
export interface InProcessResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export type InProcessEndpoint = (request: InProcessRequest) => Promise<InProcessResponse>;

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
 * endpoint serves already.
 */
export function serveInProcess(origin: string, endpoint: InProcessEndpoint): () => void {
  const key = new URL(origin).origin;
  const endpoints = registry();
  if (endpoints.has(key)) throw new Error(`serveInProcess: ${key} is served in this process already`);
  endpoints.set(key, endpoint);
  return () => {
    if (endpoints.get(key) === endpoint) endpoints.delete(key);
  };
}

/** The endpoint this thread serves at `url`'s origin, if any. */
export function inProcessEndpoint(url: URL): InProcessEndpoint | undefined {
  const g = globalThis as { [REGISTRY]?: Registry };
  return g[REGISTRY]?.get(url.origin);
}
