/**
 * One small HTTP server on 127.0.0.1 standing in for the AWS APIs the
 * handlers call besides DynamoDB and Step Functions, so they use the real SDK
 * clients with endpoint overrides:
 * - SESv2 `SendEmail` (REST-JSON `POST /v2/email/outbound-emails`) → outbox folder;
 * - SNS `Publish` (query protocol, `Action=Publish`) → alerts file (JSON lines);
 * - Secrets Manager `GetSecretValue` (JSON 1.1) → local secrets;
 * - S3 objects (REST, path-style; requests signed for `s3`) → a folder (`s3.ts`), the payload bucket.
 * - S3 Vectors data-plane calls (REST-JSON) → the on-disk vector store;
 * - Bedrock InvokeModel of Titan Text Embeddings V2 → the lexical stand-in.
 * Every email and alert is also emitted as an event. Every request must be
 * SigV4-signed with the server's credentials (403 otherwise, nothing written).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type LocalVectorStore, S3VectorsLocalError } from '../memory/s3vectors-store.js';
import { answerTitanEmbed, isTitanEmbedPath } from '../memory/titan-stand-in.js';
import { readRequestBody } from './http-body.js';
import { LOCAL_CREDENTIALS, type LocalCredentials } from './local-credentials.js';
import { handleS3Request, isS3Request } from './s3.js';
import type { LocalSecrets } from './secrets.js';
import { type OutboxEmail, writeOutboxEmail } from './ses-outbox.js';
import { verifySigV4 } from './sigv4-verify.js';
import { type LocalAlert, publishResponseXml, queryErrorXml, recordAlert } from './sns-alerts.js';

export type { OutboxEmail } from './ses-outbox.js';
export type { LocalAlert } from './sns-alerts.js';

/** Events of the services server. */
export interface ServicesEvents {
  email: [OutboxEmail];
  alert: [LocalAlert];
  /** One served memory request: a Titan embedding (`InvokeModel`) or an S3 Vectors operation. */
  memory: [{ service: 'bedrock' | 's3vectors'; operation: string }];
}

/** Options of {@link startLocalServices}. */
export interface LocalServicesOptions {
  /** Folder for sent emails (`.json` + `.eml` each). */
  outboxDir: string;
  /** JSON-lines file alerts are appended to. */
  alertsFile: string;
  secrets: LocalSecrets;
  /** The S3 Vectors stand-in; absent, S3 Vectors calls get a 404. */
  vectors?: LocalVectorStore;
  /** @default 0 (a free port) */
  port?: number;
  /** The only key pair whose signatures are accepted. @default {@link LOCAL_CREDENTIALS} */
  credentials?: LocalCredentials;
  /** The S3 stand-in: its folder and buckets. @default - none: S3 requests get NoSuchBucket */
  s3?: { dir: string; buckets: readonly string[] };
}

/** A running services server. */
export interface LocalServices {
  /** Endpoint for `AWS_ENDPOINT_URL_SESV2`, `_SNS`, `_SECRETS_MANAGER` and `_S3`. */
  url: string;
  port: number;
  /** Emits `email` and `alert`. */
  events: EventEmitter<ServicesEvents>;
  close(): Promise<void>;
}

/** Starts the services server. */
export async function startLocalServices(options: LocalServicesOptions): Promise<LocalServices> {
  const events = new EventEmitter<ServicesEvents>();
  const server = createServer((req, res) => {
    void handle(req, res, options, events).catch(() => {
      // The message may carry file paths; the caller learns only that it failed.
      if (!res.headersSent) sendJson(res, 500, { __type: 'InternalFailure', message: 'internal failure' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    events,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: LocalServicesOptions,
  events: EventEmitter<ServicesEvents>,
): Promise<void> {
  const requestId = randomUUID();
  const raw = await readRequestBody(req);
  const body = raw.toString('utf8');
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const target = String(req.headers['x-amz-target'] ?? '');
  if (isS3Request(req)) {
    handleS3Request(req, res, raw, {
      dir: options.s3?.dir ?? '',
      buckets: options.s3?.buckets ?? [],
      credentials: options.credentials ?? LOCAL_CREDENTIALS,
    });
    return;
  }
  const refused = verifySigV4(
    { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: raw },
    options.credentials ?? LOCAL_CREDENTIALS,
  );
  if (refused)
    return sendJson(
      res,
      403,
      { __type: refused.code, message: refused.message },
      { 'x-amzn-errortype': refused.code, 'x-amzn-requestid': requestId },
    );

  if (req.method === 'POST' && path === '/v2/email/outbound-emails') {
    const email = writeOutboxEmail(options.outboxDir, parseJson(body));
    events.emit('email', email);
    return sendJson(res, 200, { MessageId: email.messageId }, { 'x-amzn-requestid': requestId });
  }

  if (req.method === 'POST' && isTitanEmbedPath(path)) {
    events.emit('memory', { service: 'bedrock', operation: 'InvokeModel' });
    const answer = answerTitanEmbed(body);
    res.writeHead(answer.status, { ...answer.headers, 'x-amzn-requestid': requestId });
    res.end(answer.body);
    return;
  }

  if (req.method === 'POST' && options.vectors && !target && path !== '/' && /^\/[A-Za-z]+$/.test(path)) {
    events.emit('memory', { service: 's3vectors', operation: path.slice(1) });
    try {
      return sendJson(res, 200, options.vectors.handle(path.slice(1), parseJson(body)), {
        'x-amzn-requestid': requestId,
      });
    } catch (err) {
      if (!(err instanceof S3VectorsLocalError)) throw err;
      return sendJson(
        res,
        err.status,
        { message: err.message },
        { 'x-amzn-errortype': err.code, 'x-amzn-requestid': requestId },
      );
    }
  }

  if (target.startsWith('secretsmanager.')) {
    const op = target.slice('secretsmanager.'.length);
    if (op !== 'GetSecretValue')
      return sendAwsJsonError(res, 400, 'InvalidRequestException', `${op} is not served locally`);
    const secretId = parseJson(body).SecretId;
    const secret = typeof secretId === 'string' ? options.secrets.get(secretId) : undefined;
    if (!secret)
      return sendAwsJsonError(
        res,
        400,
        'ResourceNotFoundException',
        "Secrets Manager can't find the specified secret.",
      );
    return sendJson(
      res,
      200,
      {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: secret.versionId,
        SecretString: secret.secretString,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: secret.createdDate,
      },
      { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId },
    );
  }

  if (
    req.method === 'POST' &&
    String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')
  ) {
    const form = new URLSearchParams(body);
    const action = form.get('Action');
    if (action === 'Publish') {
      const alert = recordAlert(options.alertsFile, form);
      events.emit('alert', alert);
      return sendXml(res, 200, publishResponseXml(alert.messageId, requestId));
    }
    return sendXml(
      res,
      400,
      queryErrorXml('InvalidAction', `${action ?? '(none)'} is not served locally`, requestId),
    );
  }

  sendJson(res, 404, {
    message: `the local AWS services server does not serve ${req.method} ${path} (${target || 'no X-Amz-Target'})`,
  });
}

function parseJson(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text || '{}');
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
}

function sendAwsJsonError(res: ServerResponse, status: number, type: string, message: string): void {
  sendJson(
    res,
    status,
    { __type: type, message },
    { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': type },
  );
}

function sendXml(res: ServerResponse, status: number, xml: string): void {
  res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
  res.end(xml);
}
