import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { signRequest } from '../../../lambdas/adapters/aws-sigv4.js';
import { verifySigV4 } from '../../../local/aws/sigv4-verify.js';

/** Node's SHA-256 in the shape the SDK's signer takes. */
type Data = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: Data): string | Buffer =>
  typeof d === 'string'
    ? d
    : ArrayBuffer.isView(d)
      ? Buffer.from(d.buffer, d.byteOffset, d.byteLength)
      : Buffer.from(d);
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: Data) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: Data): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const session = { ...credentials, sessionToken: 'FwoGZXIvYXdzEXAMPLE//token==' };
const now = new Date('2026-12-02T03:04:05.678Z');

/** The SDK's signature of the same request, for comparison. */
async function sdkSigned(
  req: { method: string; path: string; headers: Record<string, string>; body?: string },
  creds: typeof credentials & { sessionToken?: string },
  scope: { service: string; region: string; uriEscapePath: boolean },
): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    service: scope.service,
    region: scope.region,
    credentials: creds,
    sha256: Sha256,
    uriEscapePath: scope.uriEscapePath,
    applyChecksum: true,
  });
  const [hostname, port] = (req.headers.host ?? '').split(':');
  const signed = await signer.sign(
    {
      method: req.method,
      protocol: 'https:',
      hostname: hostname ?? '',
      ...(port ? { port: Number(port) } : {}),
      path: req.path,
      query: {},
      headers: { ...req.headers },
      ...(req.body !== undefined ? { body: req.body } : {}),
    },
    { signingDate: now },
  );
  return signed.headers;
}

interface Case {
  what: string;
  req: { method: string; path: string; headers: Record<string, string>; body?: string };
  scope: { service: string; region: string; uriEscapePath: boolean };
}

const cases: Case[] = [
  {
    what: 'a DynamoDB request (JSON target, body)',
    req: {
      method: 'POST',
      path: '/',
      headers: {
        host: 'dynamodb.eu-west-1.amazonaws.com',
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.GetItem',
        'content-length': '52',
      },
      body: '{"TableName":"Runs","Key":{"pk":{"S":"RUN#1"},"sk":{"S":"META"}}}',
    },
    scope: { service: 'dynamodb', region: 'eu-west-1', uriEscapePath: true },
  },
  {
    what: "a Lambda invoke of an ARN (the path's %3A escaped again)",
    req: {
      method: 'POST',
      path: `/2015-03-31/functions/${encodeURIComponent('arn:aws:lambda:us-east-1:123456789012:function:t(1)')}/invocations`,
      headers: { host: '127.0.0.1:4567', 'content-type': 'application/octet-stream' },
      body: '{"tool":"x"}',
    },
    scope: { service: 'lambda', region: 'us-east-1', uriEscapePath: true },
  },
  {
    what: 'an S3 GET with no body, path as given',
    req: {
      method: 'GET',
      path: '/bucket/runs/r%201/result.json',
      headers: { host: 's3.us-east-1.amazonaws.com' },
    },
    scope: { service: 's3', region: 'us-east-1', uriEscapePath: false },
  },
  {
    what: 'header values with runs of spaces, a path with dot segments',
    req: {
      method: 'PUT',
      path: '/a/./b/../c/',
      headers: { host: 'example.com', 'x-custom': '  a   b  ', 'content-type': 'text/plain' },
      body: 'hello',
    },
    scope: { service: 'execute-api', region: 'ap-southeast-2', uriEscapePath: true },
  },
];

describe('SigV4 (the handlers own signer)', () => {
  for (const c of cases) {
    for (const creds of [credentials, session]) {
      it(`signs ${c.what} exactly as the SDK does${creds === session ? ', with a session token' : ''}`, async () => {
        const ours = signRequest(c.req, creds, c.scope, now);
        const sdk = await sdkSigned(c.req, creds, c.scope);
        expect(ours.authorization).toBe(sdk.authorization);
        expect(ours['x-amz-date']).toBe(sdk['x-amz-date']);
        expect(ours['x-amz-security-token']).toBe(sdk['x-amz-security-token']);
        expect(ours['x-amz-content-sha256']).toBe(sdk['x-amz-content-sha256']);
      });
    }
  }

  it('passes the local endpoints verification, and an altered body does not', () => {
    const body = '{"TableName":"Runs"}';
    const headers = signRequest(
      {
        method: 'POST',
        path: '/',
        headers: { host: '127.0.0.1:8000', 'content-type': 'application/json' },
        body,
      },
      credentials,
      { service: 'dynamodb', region: 'us-east-1', uriEscapePath: true },
    );
    const local = { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey };
    expect(
      verifySigV4({ method: 'POST', url: '/', headers, body: Buffer.from(body) }, local),
    ).toBeUndefined();
    expect(
      verifySigV4({ method: 'POST', url: '/', headers, body: Buffer.from('{"TableName":"Other"}') }, local)
        ?.code,
    ).toBe('InvalidSignatureException');
  });
});
