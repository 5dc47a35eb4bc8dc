/**
 * A local stand-in for the S3 REST API (path-style), backed by a folder:
 * PutObject, GetObject, HeadObject and DeleteObject on the buckets it is
 * given, as the real `@aws-sdk/client-s3` (and the handlers' payload store)
 * speak them over loopback. Requests must be SigV4-signed for service `s3`
 * with the local key pair; a body that does not match its signed SHA-256 or
 * its `x-amz-checksum-crc32` is refused, as S3 refuses it. Objects are
 * written durably (fsync, then rename), so an offloaded payload outlives a
 * `kill -9` of the dev server like the DynamoDB record that references it.
 *
 * Mounted on the local services server (`services.ts`), which routes every
 * request whose credential scope names `s3` here.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { LocalCredentials } from './local-credentials.js';
import { verifySigV4 } from './sigv4-verify.js';

/** Where the objects are and which buckets exist. */
export interface LocalS3Options {
  /** Folder the buckets live in (`<dir>/<bucket>/<sha256 of key>.body|.json`). */
  dir: string;
  /** The buckets that exist (the template's `AWS::S3::Bucket`s). */
  buckets: readonly string[];
  credentials: LocalCredentials;
}

/** Marks a function that has answered the request. */
type Sent = true;

/** What is kept beside an object's bytes. */
interface ObjectMeta {
  key: string;
  contentType: string;
  etag: string;
  lastModified: string;
  size: number;
  crc32?: string;
}

/** Whether a request is for S3: its SigV4 credential scope names the service `s3`. */
export function isS3Request(req: IncomingMessage): boolean {
  const auth = req.headers.authorization;
  return typeof auth === 'string' && /Credential=[^/]+\/\d{8}\/[^/]+\/s3\/aws4_request/.test(auth);
}

/** Answer one S3 request (the body already read). */
export function handleS3Request(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  options: LocalS3Options,
): Sent {
  const requestId = randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
  const url = req.url ?? '/';
  const refused = verifySigV4(
    { method: req.method ?? 'GET', url, headers: req.headers, body },
    options.credentials,
  );
  if (refused)
    return s3Error(
      res,
      403,
      refused.code === 'InvalidSignatureException' ? 'SignatureDoesNotMatch' : 'InvalidAccessKeyId',
      refused.message,
      requestId,
    );
  const path = url.split('?')[0] ?? '/';
  const [, bucketPart = '', ...keyParts] = path.split('/');
  const bucket = decodeURIComponent(bucketPart);
  const key = keyParts.map(decodeURIComponent).join('/');
  if (!options.buckets.includes(bucket))
    return s3Error(res, 404, 'NoSuchBucket', 'The specified bucket does not exist', requestId, {
      BucketName: bucket,
    });
  if (key === '')
    return s3Error(res, 501, 'NotImplemented', `bucket-level ${req.method} is not served locally`, requestId);
  const base = join(options.dir, bucket, createHash('sha256').update(key).digest('hex'));
  switch (req.method) {
    case 'PUT':
      return putObject(req, res, body, base, key, requestId);
    case 'GET':
    case 'HEAD':
      return getObject(req, res, base, key, requestId);
    case 'DELETE':
      rmSync(`${base}.body`, { force: true });
      rmSync(`${base}.json`, { force: true });
      res.writeHead(204, { 'x-amz-request-id': requestId });
      res.end();
      return true;
    default:
      return s3Error(res, 405, 'MethodNotAllowed', `${req.method} is not allowed on an object`, requestId);
  }
}

function putObject(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  base: string,
  key: string,
  requestId: string,
): Sent {
  const claimed = header(req, 'x-amz-content-sha256');
  if (claimed?.startsWith('STREAMING-') || header(req, 'content-encoding')?.includes('aws-chunked'))
    return s3Error(
      res,
      501,
      'NotImplemented',
      'aws-chunked (streaming) uploads are not served locally',
      requestId,
    );
  if (
    claimed &&
    /^[0-9a-f]{64}$/.test(claimed) &&
    claimed !== createHash('sha256').update(body).digest('hex')
  )
    return s3Error(
      res,
      400,
      'XAmzContentSHA256Mismatch',
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
      requestId,
    );
  const sum = crc32Base64(body);
  const claimedCrc = header(req, 'x-amz-checksum-crc32');
  if (claimedCrc && claimedCrc !== sum)
    return s3Error(
      res,
      400,
      'BadDigest',
      'The CRC32 you specified did not match the calculated checksum.',
      requestId,
    );
  const meta: ObjectMeta = {
    key,
    contentType: header(req, 'content-type') ?? 'binary/octet-stream',
    etag: `"${createHash('md5').update(body).digest('hex')}"`,
    lastModified: new Date().toUTCString(),
    size: body.length,
    crc32: sum,
  };
  mkdirSync(join(base, '..'), { recursive: true });
  durableWrite(`${base}.body`, body);
  durableWrite(`${base}.json`, Buffer.from(JSON.stringify(meta)));
  res.writeHead(200, { etag: meta.etag, 'x-amz-checksum-crc32': sum, 'x-amz-request-id': requestId });
  res.end();
  return true;
}

function getObject(
  req: IncomingMessage,
  res: ServerResponse,
  base: string,
  key: string,
  requestId: string,
): Sent {
  if (!existsSync(`${base}.json`) || !existsSync(`${base}.body`)) {
    if (req.method === 'HEAD') {
      res.writeHead(404, { 'x-amz-request-id': requestId });
      res.end();
      return true;
    }
    return s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.', requestId, { Key: key });
  }
  const meta = JSON.parse(readFileSync(`${base}.json`, 'utf8')) as ObjectMeta;
  const data = readFileSync(`${base}.body`);
  const headers: Record<string, string> = {
    'content-type': meta.contentType,
    'content-length': String(data.length),
    etag: meta.etag,
    'last-modified': meta.lastModified,
    'accept-ranges': 'bytes',
    'x-amz-request-id': requestId,
  };
  if (meta.crc32 && header(req, 'x-amz-checksum-mode') === 'ENABLED')
    headers['x-amz-checksum-crc32'] = meta.crc32;
  res.writeHead(200, headers);
  res.end(req.method === 'HEAD' ? undefined : data);
  return true;
}

/** Write a file so that after a crash it is either whole or absent. */
function durableWrite(file: string, data: Buffer): void {
  const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

function crc32Base64(data: Buffer): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc32(data) >>> 0);
  return b.toString('base64');
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

const xmlEscape = (s: string): string =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );

function s3Error(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  requestId: string,
  extra: Record<string, string> = {},
): Sent {
  const fields = Object.entries(extra)
    .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
    .join('');
  res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': requestId });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message>${fields}<RequestId>${requestId}</RequestId></Error>`,
  );
  return true;
}
