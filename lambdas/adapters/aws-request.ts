import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { credentialsTreatedAsExpired, defaultProvider, type EnvCredentials } from './aws-credentials.js';
import { signRequest } from './aws-sigv4.js';
import { type InProcessEndpoint, inProcessEndpoint } from './in-process-endpoints.js';

/**
 * One signed request to an AWS service's HTTP API: SigV4 (`aws-sigv4.ts`, held
 * to the SDK's signer by its tests), credentials from the function's
 * environment (or the container endpoint, `aws-credentials.ts`), sent over a
 * keep-alive connection pool. This is the transport of the lean DynamoDB and
 * Lambda clients and of the payload bucket (`dynamo-http.ts`,
 * `lambda-tools.ts`, `s3-payloads.ts`): each service's protocol (its targets,
 * its error shapes, its retries) lives in its client; this only signs, sends
 * and reads.
 */
export interface AwsRequestOptions {
  /** The signing name: `dynamodb`, `lambda`, `s3`. */
  readonly service: string;
  readonly region: string;
  /** Where requests go: the service's regional endpoint, or a local stand-in. */
  readonly endpoint: URL;
  /** @default the function's role, from the environment (Lambda sets `AWS_ACCESS_KEY_ID`, …) */
  readonly credentials?: () => Promise<EnvCredentials> | EnvCredentials;
  /** S3 signs the path as given; every other service escapes it again. @default true */
  readonly uriEscapePath?: boolean;
}

/** What an AWS API answered: its status, headers and the whole body. */
export interface AwsResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Empty when the body came as {@link value}. */
  readonly body: Buffer;
  /** The body's JSON value, when an in-process endpoint answered a request sent as one (`in-process-endpoints.ts`). */
  readonly value?: unknown;
}

/** A request that never got an answer (refused, reset, aborted): the SDK calls these transient. */
export class AwsTransportError extends Error {
  override readonly name: string;
  readonly code: string | undefined;
  constructor(cause: unknown) {
    const err = cause as { name?: string; code?: string; message?: string };
    super(err?.message ?? String(cause), { cause });
    this.code = err?.code;
    this.name = err?.name === 'AbortError' ? 'AbortError' : 'TimeoutError';
  }
}

/**
 * The name and message of an error a JSON-protocol AWS API answered, as the
 * SDK names it: the part after `#` of the body's `__type`, else the
 * `x-amzn-errortype` header's before `:`, else by status; the body's
 * `message` (or `Message`), else the status.
 */
export function serviceErrorName(
  res: AwsResponse,
  fields: Record<string, unknown>,
  service: string,
): { name: string; message: string } {
  const header = res.headers['x-amzn-errortype'];
  const type =
    (typeof fields.__type === 'string' ? fields.__type : undefined) ??
    (typeof header === 'string' && header ? header.split(':')[0] : undefined) ??
    (res.status >= 500 ? 'InternalServerError' : 'UnknownError');
  const message =
    (typeof fields.message === 'string' ? fields.message : undefined) ??
    (typeof fields.Message === 'string' ? fields.Message : undefined) ??
    `${service} answered HTTP ${res.status}`;
  return { name: type.slice(type.lastIndexOf('#') + 1), message };
}

/** The regional endpoint of `service` (the `.cn` partition for China's Regions). */
export function regionalEndpoint(service: string, region: string): URL {
  return new URL(`https://${service}.${region}.amazonaws.com${region.startsWith('cn-') ? '.cn' : ''}`);
}

/**
 * Signs and sends requests for one service. Credentials are read once and
 * kept until five minutes before they expire (environment credentials carry
 * no expiry); sockets are kept alive and reused, as the SDK's HTTP handler
 * does.
 */
export class AwsRequester {
  private readonly provide: () => Promise<EnvCredentials> | EnvCredentials;
  private readonly agent: HttpAgent | HttpsAgent;
  private readonly send: typeof httpRequest;
  private cached: EnvCredentials | undefined;

  constructor(private readonly options: AwsRequestOptions) {
    this.provide = options.credentials ?? defaultProvider();
    const https = options.endpoint.protocol === 'https:';
    this.agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets: 50 })
      : new HttpAgent({ keepAlive: true, maxSockets: 50 });
    this.send = https ? httpsRequest : httpRequest;
  }

  /** The endpoint requests go to. */
  get endpoint(): URL {
    return this.options.endpoint;
  }

  /**
   * Sign and send one request; resolves with whatever status came back.
   * Rejects only with {@link AwsTransportError} (no answer) or the signer's
   * credentials error.
   */
  async request(req: {
    method: 'GET' | 'POST' | 'PUT';
    /** Path below the endpoint's, unescaped segments already encoded by the caller. */
    path: string;
    headers?: Record<string, string>;
    body?: string | Uint8Array;
    /**
     * The body as a JSON value (instead of `body`), built for this call alone:
     * an in-process endpoint that takes values gets it as it is and may answer
     * with one; anywhere else its JSON text is sent.
     */
    value?: () => unknown;
    signal?: AbortSignal;
    timeoutMs?: number;
    /**
     * Over the network, a connection silent this long (no byte of the answer)
     * is dropped and the request rejected as a timeout: a dead socket or a
     * half-open TCP connection, which an in-process answer cannot have.
     * `timeoutMs`, when given, wins.
     */
    idleTimeoutMs?: number;
  }): Promise<AwsResponse> {
    const base = this.options.endpoint;
    const path = `${base.pathname.replace(/\/$/, '')}${req.path}`;
    const headers: Record<string, string> = { host: base.host, ...req.headers };
    const local = inProcessEndpoint(base);
    if (req.value) {
      if (local?.takesValues) return answerInProcess(local, { ...req, path, headers, value: req.value() });
      req = { ...req, body: JSON.stringify(req.value()) };
    }
    if (req.body !== undefined) headers['content-length'] = String(Buffer.byteLength(req.body));
    if (local) return answerInProcess(local, { ...req, path, headers });
    const timeoutMs = req.timeoutMs ?? req.idleTimeoutMs;
    if (!this.cached || credentialsTreatedAsExpired(this.cached)) this.cached = await this.provide();
    const signed = signRequest(
      { method: req.method, path, headers, ...(req.body !== undefined ? { body: req.body } : {}) },
      this.cached,
      {
        service: this.options.service,
        region: this.options.region,
        uriEscapePath: this.options.uriEscapePath ?? true,
      },
    );
    return new Promise<AwsResponse>((resolve, reject) => {
      const outgoing = this.send(
        {
          method: req.method,
          protocol: base.protocol,
          hostname: base.hostname,
          port: base.port || (base.protocol === 'https:' ? 443 : 80),
          path,
          headers: signed,
          agent: this.agent,
          ...(req.signal ? { signal: req.signal } : {}),
          ...(timeoutMs !== undefined ? { timeout: timeoutMs } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(new AwsTransportError(err)));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
        },
      );
      outgoing.on('timeout', () =>
        outgoing.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
      );
      outgoing.on('error', (err) => reject(new AwsTransportError(err)));
      outgoing.end(req.body);
    });
  }
}

/**
 * A request to an endpoint this thread serves (`in-process-endpoints.ts`):
 * the same bytes in and out, unsigned, with the abort signal and the timeout
 * failing it as they fail a socket.
 */
const EMPTY = Buffer.alloc(0);

async function answerInProcess(
  endpoint: InProcessEndpoint,
  req: {
    method: string;
    path: string;
    headers: Record<string, string>;
    body?: string | Uint8Array;
    value?: unknown;
    signal?: AbortSignal;
    timeoutMs?: number;
  },
): Promise<AwsResponse> {
  const abort = () =>
    new AwsTransportError(Object.assign(new Error('The operation was aborted'), { name: 'AbortError' }));
  if (req.signal?.aborted) throw abort();
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) lower[k.toLowerCase()] = v;
  const answer = endpoint({
    method: req.method,
    path: req.path,
    headers: lower,
    body: req.body === undefined ? EMPTY : Buffer.from(req.body),
    ...(req.value !== undefined ? { value: req.value } : {}),
  });
  if (!req.signal && req.timeoutMs === undefined)
    return answer.catch((err: unknown) => {
      throw new AwsTransportError(err);
    });
  return new Promise<AwsResponse>((resolve, reject) => {
    const onAbort = () => reject(abort());
    const timer =
      req.timeoutMs === undefined
        ? undefined
        : setTimeout(
            () =>
              reject(
                new AwsTransportError(
                  Object.assign(new Error(`no answer within ${req.timeoutMs} ms`), { code: 'ETIMEDOUT' }),
                ),
              ),
            req.timeoutMs,
          );
    req.signal?.addEventListener('abort', onAbort, { once: true });
    answer
      .then(resolve, (err: unknown) => reject(new AwsTransportError(err)))
      .finally(() => {
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
      });
  });
}
