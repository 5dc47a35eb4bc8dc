import { ChaperoneError, StoreThrottledError } from '../core/errors.js';
import type { PayloadStore } from '../core/offload.js';
import { countS3Request } from '../core/usage.js';
import { AwsRequester, type AwsResponse, regionalEndpoint } from './aws-request.js';

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
  /** @default the function's role (`aws-credentials.ts`: the Lambda environment, then the container endpoint) */
  credentials?: () => S3Credentials;
  /** Per request. @default 10,000 ms */
  timeoutMs?: number;
}

/**
 * The payload bucket over S3's REST API (PutObject, GetObject), signed with
 * SigV4. Two operations do not justify the S3 client in every bundle (it
 * adds ~195 KB minified): this is the handlers' signed transport (`aws-request.ts`). The
 * local stand-in (`local/aws/s3.ts`) is tested against the real
 * `@aws-sdk/client-s3` and against this. Throttling and 5xx are the retryable
 * `StoreThrottledError`; a missing object is `undefined`.
 */
export function createS3PayloadStore(options: S3PayloadStoreOptions): PayloadStore {
  const s3 = new AwsRequester({
    service: 's3',
    region: options.region,
    endpoint: options.endpoint ? new URL(options.endpoint) : regionalEndpoint('s3', options.region),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    uriEscapePath: false,
  });
  const send = async (method: 'PUT' | 'GET', key: string, body?: string): Promise<AwsResponse> => {
    const path = `/${options.bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
    countS3Request(method === 'PUT' ? 'put' : 'get');
    try {
      return await s3.request({
        method,
        path,
        ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body } : {}),
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
    } catch (err) {
      // No answer, or no credentials to sign with: retryable, as a throttle is.
      throw new StoreThrottledError(`S3 ${method} ${key} failed: ${(err as Error).message}`, { cause: err });
    }
  };
  const failure = (res: AwsResponse, what: string): Error => {
    const text = res.body.toString('utf8');
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
      if (res.status >= 300) throw failure(res, `PutObject ${key}`);
    },
    async get(key) {
      const res = await send('GET', key);
      if (res.status === 404) return undefined;
      if (res.status >= 300) throw failure(res, `GetObject ${key}`);
      return res.body.toString('utf8');
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
