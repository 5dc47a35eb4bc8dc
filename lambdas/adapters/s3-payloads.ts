import { ChaperoneError, StoreThrottledError } from '../core/errors.js';
import type { PayloadStore } from '../core/offload.js';
import { countS3Request } from '../core/usage.js';
import { signRequest } from './aws-sigv4.js';

/** AWS credentials as the signer takes them. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Options of {@link createS3PayloadStore}. */
export interface S3PayloadStoreOptions {
  bucket: string;
  region: string;
  /** Path-style endpoint (the local stand-in). @default `https://s3.<region>.amazonaws.com` */
  endpoint?: string;
  /** @default the function's role, from the Lambda environment (`AWS_ACCESS_KEY_ID`, …) */
  credentials?: () => S3Credentials;
  /** Per request. @default 10,000 ms */
  timeoutMs?: number;
}

const fromEnvironment = (): S3Credentials => {
  const { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: token } = process.env;
  if (!id || !secret)
    throw new StoreThrottledError('no AWS credentials in the environment for the payload bucket');
  return { accessKeyId: id, secretAccessKey: secret, ...(token ? { sessionToken: token } : {}) };
};

/**
 * The payload bucket over S3's REST API (PutObject, GetObject), signed with
 * SigV4. Two operations do not justify the S3 client in every bundle (it
 * adds ~195 KB minified): this is SigV4 (`aws-sigv4.ts`) and `fetch`. The
 * local stand-in (`local/aws/s3.ts`) is tested against the real
 * `@aws-sdk/client-s3` and against this. Throttling and 5xx are the retryable
 * `StoreThrottledError`; a missing object is `undefined`.
 */
export function createS3PayloadStore(options: S3PayloadStoreOptions): PayloadStore {
  const base = new URL(options.endpoint ?? `https://s3.${options.region}.amazonaws.com`);
  const credentials = options.credentials ?? fromEnvironment;
  const send = async (method: 'PUT' | 'GET', key: string, body?: string): Promise<Response> => {
    const path = `${base.pathname.replace(/\/$/, '')}/${options.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
    const headers: Record<string, string> = { host: base.host };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const signed = signRequest(
      { method, path, headers, ...(body !== undefined ? { body } : {}) },
      credentials(),
      {
        service: 's3',
        region: options.region,
        uriEscapePath: false,
      },
    );
    const { host: _host, ...sendHeaders } = signed;
    countS3Request(method === 'PUT' ? 'put' : 'get');
    try {
      return await fetch(new URL(path, base), {
        method,
        headers: sendHeaders,
        ...(body !== undefined ? { body } : {}),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      throw new StoreThrottledError(`S3 ${method} ${key} failed: ${(err as Error).message}`, { cause: err });
    }
  };
  const failure = async (res: Response, what: string): Promise<Error> => {
    const text = await res.text();
    const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? `HTTP ${res.status}`;
    const detail = /<Message>([^<]+)<\/Message>/.exec(text)?.[1];
    const message = `S3 ${what}: ${code}${detail ? ` (${detail})` : ''}`;
    return res.status >= 500 || code === 'SlowDown'
      ? new StoreThrottledError(message)
      : new S3RequestError(message, res.status, code);
  };
  return {
    async put(key, body) {
      const res = await send('PUT', key, body);
      if (!res.ok) throw await failure(res, `PutObject ${key}`);
      await res.arrayBuffer();
    },
    async get(key) {
      const res = await send('GET', key);
      if (res.status === 404) {
        await res.arrayBuffer();
        return undefined;
      }
      if (!res.ok) throw await failure(res, `GetObject ${key}`);
      return res.text();
    },
  };
}

/** S3 refused a request (4xx other than a missing object): retrying cannot help. */
export class S3RequestError extends ChaperoneError {
  override readonly name = 'S3RequestError';
  readonly retryable = false;
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}
