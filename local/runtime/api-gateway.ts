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
 * Requests may carry the stage prefix (`/prod/runs`) or not (`/runs`).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LambdaInvoker } from '../sfn/lambda-invoker.js';
import type { LocalRestApi, LocalRoute } from './api-routes.js';
import { LOCAL_ACCOUNT } from './intrinsics.js';
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
  /** Called after each request (method, path, status), e.g. for a dev-server log. */
  onRequest?: (entry: { method: string; path: string; status: number; ms: number }) => void;
}

/** A running local REST API. */
export interface LocalApiGateway {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:3000`. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

/** Serves one REST API of the template. */
export async function startApiGateway(options: ApiGatewayOptions): Promise<LocalApiGateway> {
  const server = createServer((req, res) => {
    const started = Date.now();
    void handle(req, res, options)
      .catch(() => send(res, 500, { message: 'Internal server error' }))
      .finally(() =>
        options.onRequest?.({
          method: req.method ?? '',
          path: req.url ?? '',
          status: res.statusCode,
          ms: Date.now() - started,
        }),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
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

async function handle(req: IncomingMessage, res: ServerResponse, options: ApiGatewayOptions): Promise<void> {
  const requestId = randomUUID();
  const { api } = options;
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
  const body = await readBody(req);
  if (body === undefined)
    return send(res, 413, { message: 'Request Too Long' }, { 'x-amzn-RequestId': requestId });
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

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_BODY_BYTES) return undefined;
    parts.push(buf);
  }
  return Buffer.concat(parts);
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
