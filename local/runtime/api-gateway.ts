/**
 * The template's REST API on 127.0.0.1: routes as API Gateway matches them
 * (literal segments before `{param}` before `{proxy+}`, a method before ANY),
 * the Lambda proxy event format v1, and API Gateway's own answers for
 * unknown routes (403 "Missing Authentication Token"), function errors and
 * malformed proxy results (502 "Internal server error") and slow functions
 * (504 after 29 s).
 *
 * Not checked locally: IAM authorisation (`AuthorizationType: AWS_IAM`),
 * API keys, usage plans, request validators and WAF. Anyone on this machine
 * who can reach the port can call the API, which is why it binds to loopback.
 * What a web page in the user's browser could do is refused, before any
 * function runs (see {@link refuseBrowserAttack}): a `Host` that is not
 * loopback (or the one configured name) gets 403, which stops DNS
 * rebinding; a state-changing request whose `Origin` is not this server's
 * gets 403; a body whose content type the method has no request model for
 * gets 415 (so a cross-site `text/plain` form cannot post JSON).
 * Requests may carry the stage prefix (`/prod/runs`) or not (`/runs`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LambdaInvoker } from '../sfn/lambda-invoker.js';
import type { LocalRestApi, LocalRoute } from './api-routes.js';
import { LOCAL_ACCOUNT } from './intrinsics.js';
import { MAX_PAYLOAD_BYTES } from './lambda-runtime.js';
import { buildProxyEvent, type MatchedRoute, writeProxyResult } from './proxy-event.js';

/** Options of {@link startApiGateway}. */
export interface ApiGatewayOptions {
  api: LocalRestApi;
  invoker: LambdaInvoker;
  /** @default 0 (a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** API Gateway's integration timeout. @default 29_000 */
  integrationTimeoutMs?: number;
  /**
   * One more host name to answer besides 127.0.0.1, localhost and [::1]
   * (e.g. a name in /etc/hosts that points here). @default none
   */
  allowedHostName?: string;
  /** Called after each request (method, path, status), e.g. for a dev-server log. */
  onRequest?: (entry: RequestLogEntry) => void;
}

/** One answered request, for a dev-server log. */
export interface RequestLogEntry {
  method: string;
  path: string;
  status: number;
  ms: number;
  /** The `User-Agent` header, if any. */
  userAgent?: string;
}

/** A running local REST API. */
export interface LocalApiGateway {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:3000`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** API Gateway's limit on a request body (10 MB). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Serves one REST API of the template. */
export async function startApiGateway(options: ApiGatewayOptions): Promise<LocalApiGateway> {
  let port = 0;
  const server = createServer((req, res) => {
    const started = Date.now();
    void handle(req, res, options, port)
      .catch(() => send(res, 500, { message: 'Internal server error' }))
      .finally(() => {
        const userAgent = req.headers['user-agent'];
        options.onRequest?.({
          method: req.method ?? '',
          path: req.url ?? '',
          status: res.statusCode,
          ms: Date.now() - started,
          ...(userAgent ? { userAgent } : {}),
        });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Why a request that a web page could have made is refused, or undefined:
 * a foreign `Host` (DNS rebinding), or a state-changing request from a
 * foreign `Origin` (or a browser saying it comes from another site).
 * Requests without `Origin` (curl, the CLI, SDKs) pass the origin check.
 */
export function refuseBrowserAttack(
  req: Pick<IncomingMessage, 'method' | 'headers'>,
  port: number,
  allowedHostName?: string,
): string | undefined {
  const allowed = (hostname: string): boolean =>
    LOOPBACK_HOSTS.has(hostname) ||
    (allowedHostName !== undefined && hostname === allowedHostName.toLowerCase());
  const host = hostnameOf(req.headers.host);
  if (host === undefined || !allowed(host))
    return `this local API answers only Host 127.0.0.1, localhost or [::1]${allowedHostName ? ` or ${allowedHostName}` : ''} (any port)`;
  if (SAFE_METHODS.has((req.method ?? 'GET').toUpperCase())) return undefined;
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    const sameOrigin =
      url !== undefined &&
      url.protocol === 'http:' &&
      allowed(url.hostname.toLowerCase()) &&
      Number(url.port || 80) === port;
    return sameOrigin
      ? undefined
      : `cross-origin ${req.method} refused: Origin ${origin.slice(0, 100)} is not this server's`;
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    return `cross-site ${req.method} refused (Sec-Fetch-Site: ${site})`;
  return undefined;
}

/** The host name of a `Host` header (lower case, IPv6 in brackets), or undefined if malformed. */
function hostnameOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i.exec(header.trim());
  return m?.[1]?.toLowerCase();
}

/** The media type of a `Content-Type` header, lower case, without parameters. */
function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: ApiGatewayOptions,
  port: number,
): Promise<void> {
  const requestId = randomUUID();
  const { api } = options;
  const refused = refuseBrowserAttack(req, port, options.allowedHostName);
  if (refused) {
    req.resume();
    return send(
      res,
      403,
      { message: `Forbidden: ${refused}` },
      { 'x-amzn-ErrorType': 'ForbiddenException', 'x-amzn-RequestId': requestId },
    );
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  const stagePrefix = `/${api.stageName}`;
  const path =
    url.pathname === stagePrefix || url.pathname.startsWith(`${stagePrefix}/`)
      ? url.pathname.slice(stagePrefix.length) || '/'
      : url.pathname;
  const method = (req.method ?? 'GET').toUpperCase();
  const matched = matchRoute(api.routes, path, method);
  if (!matched)
    return send(
      res,
      403,
      { message: 'Missing Authentication Token' },
      { 'x-amzn-ErrorType': 'MissingAuthenticationTokenException', 'x-amzn-RequestId': requestId },
    );

  const { integration } = matched.route;
  if (integration.kind === 'mock') {
    res.writeHead(integration.statusCode, { ...integration.headers, 'x-amzn-RequestId': requestId });
    res.end();
    return;
  }
  const { contentTypes } = matched.route;
  const hasBody =
    Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (
    contentTypes &&
    (hasBody || !SAFE_METHODS.has(method)) &&
    !contentTypes.includes(mediaType(req.headers['content-type']))
  ) {
    req.resume();
    return send(
      res,
      415,
      { message: `Unsupported Media Type: send the body as ${contentTypes.join(' or ')}` },
      { 'x-amzn-ErrorType': 'UnsupportedMediaTypeException', 'x-amzn-RequestId': requestId },
    );
  }
  const tooLong = (): void =>
    send(
      res,
      413,
      {
        message: `Request Too Long: the body must be at most ${MAX_BODY_BYTES} bytes (10 MB, API Gateway's limit)`,
      },
      { 'x-amzn-ErrorType': 'RequestTooLongException', 'x-amzn-RequestId': requestId, connection: 'close' },
    );
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
    req.resume();
    return tooLong();
  }
  const body = await readBody(req);
  if (body === undefined) return tooLong();
  const event = buildProxyEvent({
    req,
    url,
    path,
    matched,
    body,
    requestId,
    stage: api.stageName,
    apiId: api.logicalId,
    accountId: LOCAL_ACCOUNT,
  });

  // Lambda refuses an event over 6 MB; API Gateway would answer 502 for it, which tells the caller nothing.
  const eventBytes = Buffer.byteLength(JSON.stringify(event));
  if (eventBytes > MAX_PAYLOAD_BYTES)
    return send(
      res,
      413,
      {
        message: `Request Too Long: the request (body and headers, as the function's event) is ${eventBytes} bytes; a Lambda proxy integration takes at most ${MAX_PAYLOAD_BYTES} bytes (6 MB)`,
      },
      { 'x-amzn-ErrorType': 'RequestTooLongException', 'x-amzn-RequestId': requestId },
    );

  const controller = new AbortController();
  const timeoutMs = options.integrationTimeoutMs ?? 29_000;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const outcome = await Promise.race([
      options.invoker.invoke(integration.functionArn, event, { signal: controller.signal }),
      timedOut,
    ]);
    if (outcome === 'timeout') {
      controller.abort(new Error('API Gateway integration timeout'));
      return send(
        res,
        504,
        { message: 'Endpoint request timed out' },
        { 'x-amzn-ErrorType': 'IntegrationTimeout', 'x-amzn-RequestId': requestId },
      );
    }
    if (!outcome.ok || !writeProxyResult(res, outcome.payload, requestId)) {
      return send(
        res,
        502,
        { message: 'Internal server error' },
        { 'x-amzn-ErrorType': 'InternalServerErrorException', 'x-amzn-RequestId': requestId },
      );
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Finds the route API Gateway would pick; undefined when none (→ 403). */
export function matchRoute(routes: LocalRoute[], path: string, method: string): MatchedRoute | undefined {
  const segments = path.split('/').filter((s) => s !== '');
  let best: { route: LocalRoute; params: Record<string, string>; score: number[] } | undefined;
  for (const route of routes) {
    if (route.httpMethod !== method && route.httpMethod !== 'ANY') continue;
    const m = matchPath(route.resourcePath, segments);
    if (!m) continue;
    const score = [...m.score, route.httpMethod === method ? 1 : 0];
    if (!best || compare(score, best.score) > 0) best = { route, params: m.params, score };
  }
  return best ? { route: best.route, pathParameters: best.params } : undefined;
}

/** Matches a resource path against request segments; the score ranks literal > param > greedy per segment. */
function matchPath(
  resourcePath: string,
  segments: string[],
): { params: Record<string, string>; score: number[] } | undefined {
  const parts = resourcePath.split('/').filter((s) => s !== '');
  const params: Record<string, string> = {};
  const score: number[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] ?? '';
    const greedy = /^\{(.+)\+\}$/.exec(part);
    if (greedy?.[1]) {
      if (i !== parts.length - 1 || segments.length <= i) return undefined;
      params[greedy[1]] = segments.slice(i).map(safeDecode).join('/');
      score.push(1);
      return { params, score };
    }
    const segment = segments[i];
    if (segment === undefined) return undefined;
    const param = /^\{(.+)\}$/.exec(part);
    if (param?.[1]) {
      params[param[1]] = safeDecode(segment);
      score.push(2);
    } else if (part === segment) {
      score.push(3);
    } else {
      return undefined;
    }
  }
  return segments.length === parts.length ? { params, score } : undefined;
}

function compare(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The body, or undefined past {@link MAX_BODY_BYTES} (the rest is read and dropped, so the 413 arrives). */
function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void parts.push(chunk);
      req.off('data', onData);
      req.resume();
      resolve(undefined);
    };
    req.on('data', onData);
    req.once('end', () => resolve(size <= MAX_BODY_BYTES ? Buffer.concat(parts) : undefined));
    req.once('error', reject);
  });
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
