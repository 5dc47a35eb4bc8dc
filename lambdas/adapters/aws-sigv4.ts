import { createHash, createHmac } from 'node:crypto';

/**
 * AWS Signature Version 4 for the handlers' own requests (`aws-request.ts`):
 * header signing of a request with no query string, as
 * `@smithy/signature-v4` signs it (`test/unit/adapters/aws-sigv4.test.ts`
 * holds the two to the same signature). The SDK's signer now imports
 * `@smithy/core`'s serde and protocol modules, ~80 KB of every bundle for the
 * few lines below; the local AWS endpoints verify these signatures as they
 * verify the SDK's (`local/aws/sigv4.ts`).
 */
export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SignableRequest {
  readonly method: string;
  /** The path as sent (segments already percent-encoded), no query string. */
  readonly path: string;
  /** Lowercase names; `host` among them. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

export interface SigningScope {
  readonly service: string;
  readonly region: string;
  /** S3 signs the path as given; every other service escapes it again. */
  readonly uriEscapePath: boolean;
}

/** The signing keys derived so far, by date, region, service and secret (a day's key serves every request). */
const KEYS = new Map<string, Buffer>();

function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  const id = `${date}/${region}/${service}/${secret}`;
  let key = KEYS.get(id);
  if (!key) {
    const kDate = createHmac('sha256', `AWS4${secret}`).update(date).digest();
    const kRegion = createHmac('sha256', kDate).update(region).digest();
    const kService = createHmac('sha256', kRegion).update(service).digest();
    key = createHmac('sha256', kService).update('aws4_request').digest();
    if (KEYS.size > 16) KEYS.clear();
    KEYS.set(id, key);
  }
  return key;
}

/** RFC 3986 escaping, as the SDK's `escapeUri` (encodeURIComponent plus `!'()*`). */
const escapeUri = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

function canonicalPath(path: string, uriEscapePath: boolean): string {
  if (!uriEscapePath) return path;
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment.length === 0 || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized).replace(/%2F/g, '/');
}

const sha256Hex = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * The headers to send: the request's own plus `x-amz-date`,
 * `x-amz-content-sha256`, `x-amz-security-token` (with a session token) and
 * `authorization`.
 */
export function signRequest(
  req: SignableRequest,
  credentials: SigningCredentials,
  scope: SigningScope,
  now: Date = new Date(),
): Record<string, string> {
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
  const date = amzDate.slice(0, 8);
  const payloadHash = sha256Hex(req.body ?? '');
  const headers: Record<string, string> = {
    ...req.headers,
    'x-amz-date': amzDate,
    'x-amz-content-sha256': payloadHash,
    ...(credentials.sessionToken ? { 'x-amz-security-token': credentials.sessionToken } : {}),
  };
  const names = Object.keys(headers)
    .map((n) => n.toLowerCase())
    .sort();
  const lower: Record<string, string> = {};
  for (const [n, v] of Object.entries(headers)) lower[n.toLowerCase()] = v.trim().replace(/\s+/g, ' ');
  const canonicalHeaders = names.map((n) => `${n}:${lower[n]}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [
    req.method,
    canonicalPath(req.path, scope.uriEscapePath),
    '',
    canonicalHeaders,
    signedHeaders,
    payloadHash,
  ].join('\n');
  const credentialScope = `${date}/${scope.region}/${scope.service}/aws4_request`;
  const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${credentialScope}\n${sha256Hex(canonicalRequest)}`;
  const signature = createHmac(
    'sha256',
    signingKey(credentials.secretAccessKey, date, scope.region, scope.service),
  )
    .update(stringToSign)
    .digest('hex');
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${credentialScope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return headers;
}
