/**
 * The API Gateway REST "Lambda proxy" formats, version 1.0: building the
 * event from an HTTP request and writing the function's result back.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LocalRoute } from './api-routes.js';

/** A route with the path parameters it matched. */
export interface MatchedRoute {
  route: LocalRoute;
  pathParameters: Record<string, string>;
}

/** The proxy integration event (format 1.0), as API Gateway REST APIs send it. */
export interface ProxyEvent {
  resource: string;
  path: string;
  httpMethod: string;
  headers: Record<string, string> | null;
  multiValueHeaders: Record<string, string[]> | null;
  queryStringParameters: Record<string, string> | null;
  multiValueQueryStringParameters: Record<string, string[]> | null;
  pathParameters: Record<string, string> | null;
  stageVariables: Record<string, string> | null;
  requestContext: {
    accountId: string;
    apiId: string;
    resourceId: string;
    resourcePath: string;
    httpMethod: string;
    stage: string;
    path: string;
    protocol: string;
    requestId: string;
    extendedRequestId: string;
    requestTime: string;
    requestTimeEpoch: number;
    domainName: string;
    identity: {
      sourceIp: string;
      userAgent: string | null;
      accessKey: null;
      accountId: null;
      caller: null;
      user: null;
      userArn: null;
    };
  };
  body: string | null;
  isBase64Encoded: boolean;
}

const nullIfEmpty = <T extends object>(o: T): T | null => (Object.keys(o).length === 0 ? null : o);

/** Builds the proxy event for one request. */
export function buildProxyEvent(input: {
  req: IncomingMessage;
  url: URL;
  path: string;
  matched: MatchedRoute;
  body: Buffer;
  requestId: string;
  stage: string;
  apiId: string;
  accountId: string;
}): ProxyEvent {
  const { req, url, matched } = input;
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  // rawHeaders keeps the case the client sent, as API Gateway does.
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? '';
    const value = req.rawHeaders[i + 1] ?? '';
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const query: Record<string, string> = {};
  const multiQuery: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams) {
    query[k] = v;
    multiQuery[k] = [...(multiQuery[k] ?? []), v];
  }
  const now = new Date();
  const method = (req.method ?? 'GET').toUpperCase();
  return {
    resource: matched.route.resourcePath,
    path: input.path,
    httpMethod: method,
    headers: nullIfEmpty(headers),
    multiValueHeaders: nullIfEmpty(multiValueHeaders),
    queryStringParameters: nullIfEmpty(query),
    multiValueQueryStringParameters: nullIfEmpty(multiQuery),
    pathParameters: nullIfEmpty(matched.pathParameters),
    stageVariables: null,
    requestContext: {
      accountId: input.accountId,
      apiId: input.apiId,
      resourceId: matched.route.resourcePath,
      resourcePath: matched.route.resourcePath,
      httpMethod: method,
      stage: input.stage,
      path: `/${input.stage}${input.path}`,
      protocol: `HTTP/${req.httpVersion}`,
      requestId: input.requestId,
      extendedRequestId: input.requestId,
      requestTime: now.toUTCString(),
      requestTimeEpoch: now.getTime(),
      domainName: req.headers.host ?? 'localhost',
      identity: {
        sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        userAgent: req.headers['user-agent'] ?? null,
        accessKey: null,
        accountId: null,
        caller: null,
        user: null,
        userArn: null,
      },
    },
    body: input.body.length === 0 ? null : input.body.toString('utf8'),
    isBase64Encoded: false,
  };
}

/**
 * Writes a proxy result (`statusCode`, `headers`, `multiValueHeaders`, `body`,
 * `isBase64Encoded`); false when the result is malformed, which API Gateway
 * answers with 502.
 */
export function writeProxyResult(res: ServerResponse, result: unknown, requestId: string): boolean {
  if (typeof result !== 'object' || result === null) return false;
  const r = result as Record<string, unknown>;
  const status = r.statusCode;
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 100 || status > 599) return false;
  const headers: Record<string, string | string[]> = {};
  if (r.headers !== undefined && r.headers !== null) {
    if (typeof r.headers !== 'object') return false;
    for (const [k, v] of Object.entries(r.headers)) headers[k.toLowerCase()] = String(v);
  }
  if (r.multiValueHeaders !== undefined && r.multiValueHeaders !== null) {
    if (typeof r.multiValueHeaders !== 'object') return false;
    for (const [k, v] of Object.entries(r.multiValueHeaders)) {
      if (Array.isArray(v)) headers[k.toLowerCase()] = v.map(String);
    }
  }
  if (r.body !== undefined && r.body !== null && typeof r.body !== 'string') return false;
  const body =
    typeof r.body === 'string'
      ? r.isBase64Encoded === true
        ? Buffer.from(r.body, 'base64')
        : Buffer.from(r.body, 'utf8')
      : Buffer.alloc(0);
  headers['content-type'] ??= 'application/json';
  headers['x-amzn-requestid'] = requestId;
  res.writeHead(status, headers);
  res.end(body);
  return true;
}
