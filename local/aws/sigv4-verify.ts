/**
 * SigV4 verification for the local AWS endpoints: recomputes the signature of
 * an incoming request (as the AWS SDK's signer builds it) with the secret of
 * the one access key the endpoint accepts, and compares in constant time.
 * Unsigned requests, other keys, stale dates and altered bodies are refused.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { LocalCredentials } from './local-credentials.js';

/** Why a request was refused, in the names AWS uses. */
export interface SigV4Refusal {
  code: 'MissingAuthenticationTokenException' | 'UnrecognizedClientException' | 'InvalidSignatureException';
  message: string;
}

/** A request as the server received it. */
export interface SignedRequest {
  method: string;
  /** Path and query, as on the request line. */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** How far `x-amz-date` may be from now (AWS allows 15 minutes). */
const MAX_SKEW_MS = 15 * 60 * 1000;

const AUTH =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;

const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** RFC 3986 escaping, as the SDK's `escapeUri`. */
function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, '%20'));
  } catch {
    return s;
  }
}

/** The canonical URI: dot segments removed, then escaped once more (services other than S3). */
function canonicalPath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized).replace(/%2F/g, '/');
}

function canonicalQuery(query: string): string {
  if (query === '') return '';
  const pairs = query
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      const k = safeDecode(i < 0 ? p : p.slice(0, i));
      const v = i < 0 ? '' : safeDecode(p.slice(i + 1));
      return [escapeUri(k), escapeUri(v)] as const;
    })
    .filter(([k]) => k.toLowerCase() !== 'x-amz-signature');
  return pairs
    .sort(([a, av], [b, bv]) => (a === b ? (av < bv ? -1 : 1) : a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return (Array.isArray(v) ? v.join(',') : v)
    .replace(/[\r\n]/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
}

/** Parses `x-amz-date` (`20260101T120000Z`) to epoch ms. */
function parseAmzDate(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) return undefined;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

/** Derived signing keys by secret, day, region and service: four HMACs a request saves (the SDK caches them too). */
const signingKeys = new Map<string, Buffer>();

function signingKey(secret: string, day: string, region: string, service: string): Buffer {
  const id = `${secret}\u0000${day}\u0000${region}\u0000${service}`;
  const hit = signingKeys.get(id);
  if (hit) return hit;
  let key = hmac(`AWS4${secret}`, day);
  for (const part of [region, service, 'aws4_request']) key = hmac(key, part);
  // A day's keys for a handful of services: bounded, the oldest dropped first.
  if (signingKeys.size >= 64) signingKeys.delete(signingKeys.keys().next().value as string);
  signingKeys.set(id, key);
  return key;
}

/**
 * Verifies the request's `Authorization` header against `credentials`;
 * undefined when it is valid, else why it is not.
 */
export function verifySigV4(
  req: SignedRequest,
  credentials: LocalCredentials,
  now: number = Date.now(),
): SigV4Refusal | undefined {
  const auth = headerValue(req.headers, 'authorization');
  if (!auth) return { code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' };
  const m = AUTH.exec(auth);
  if (!m)
    return {
      code: 'InvalidSignatureException',
      message: 'Only AWS4-HMAC-SHA256 header signatures are accepted by the local endpoints',
    };
  const [, accessKeyId, day, region, service, signedList, signature] = m as unknown as string[];
  if (accessKeyId !== credentials.accessKeyId)
    return {
      code: 'UnrecognizedClientException',
      message: 'The security token included in the request is invalid.',
    };
  const amzDate = headerValue(req.headers, 'x-amz-date') ?? '';
  const at = parseAmzDate(amzDate);
  if (at === undefined || !amzDate.startsWith(day ?? ''))
    return {
      code: 'InvalidSignatureException',
      message: 'x-amz-date is missing or does not match the credential scope',
    };
  if (Math.abs(now - at) > MAX_SKEW_MS)
    return {
      code: 'InvalidSignatureException',
      message: 'Signature expired: x-amz-date is more than 15 minutes from now',
    };
  const signed = (signedList ?? '').split(';');
  if (!signed.includes('host') || signed.some((h) => h !== h.toLowerCase()))
    return { code: 'InvalidSignatureException', message: 'The signed headers must include host' };
  const canonicalHeaders = signed.map((h) => `${h}:${headerValue(req.headers, h) ?? ''}\n`).join('');
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const query = q < 0 ? '' : req.url.slice(q + 1);
  const canonicalRequest = [
    req.method.toUpperCase(),
    // S3 signs the path as sent (no normalisation, no second escaping); every other service does both.
    service === 's3' ? path || '/' : canonicalPath(path || '/'),
    canonicalQuery(query),
    canonicalHeaders,
    signedList,
    // The body as received, whatever x-amz-content-sha256 claims: a changed body fails.
    sha256(req.body),
  ].join('\n');
  const scope = `${day}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = signingKey(credentials.secretAccessKey, day ?? '', region ?? '', service ?? '');
  const expected = Buffer.from(hmac(key, stringToSign).toString('hex'));
  const given = Buffer.from(signature ?? '');
  if (expected.length !== given.length || !timingSafeEqual(expected, given))
    return {
      code: 'InvalidSignatureException',
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    };
  return undefined;
}
