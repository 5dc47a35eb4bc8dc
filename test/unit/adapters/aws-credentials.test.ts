/**
 * The credential chain the bundles use in place of the SDK's default Node
 * chain: what Lambda sets (environment variables), then a container endpoint
 * (served here on loopback), and a named error otherwise.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CredentialsProviderError,
  createCredentialChain,
  defaultProvider,
  fromEnv,
} from '../../../lambdas/adapters/aws-credentials.js';

const NAMES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
];
const saved = Object.fromEntries(NAMES.map((n) => [n, process.env[n]]));
const clear = () => {
  for (const n of NAMES) delete process.env[n];
};

let server: Server;
let url: string;
const seen: Array<string | undefined> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(req.headers.authorization);
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        AccessKeyId: 'ASIACONTAINER',
        SecretAccessKey: 'container-secret',
        Token: 'container-session',
        Expiration: '2030-01-01T00:00:00Z',
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/creds`;
});
afterEach(() => {
  clear();
  for (const [n, v] of Object.entries(saved)) if (v !== undefined) process.env[n] = v;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('the bundles’ credential chain', () => {
  it('takes the environment variables Lambda sets', async () => {
    clear();
    process.env.AWS_ACCESS_KEY_ID = 'ASIAENV';
    process.env.AWS_SECRET_ACCESS_KEY = 'env-secret';
    process.env.AWS_SESSION_TOKEN = 'env-session';
    await expect(defaultProvider()()).resolves.toEqual({
      accessKeyId: 'ASIAENV',
      secretAccessKey: 'env-secret',
      sessionToken: 'env-session',
    });
  });

  it('falls back to the container endpoint, sending its authorization token', async () => {
    clear();
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = url;
    process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = 'tok-123';
    const creds = await defaultProvider()();
    expect(creds).toMatchObject({
      accessKeyId: 'ASIACONTAINER',
      secretAccessKey: 'container-secret',
      sessionToken: 'container-session',
    });
    expect(creds.expiration?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    expect(seen.at(-1)).toBe('tok-123');
  });

  it('refuses a plain-HTTP full URI to a host that is not loopback or a container endpoint', async () => {
    clear();
    process.env.AWS_CONTAINER_CREDENTIALS_FULL_URI = 'http://attacker.example.com/creds';
    process.env.AWS_CONTAINER_AUTHORIZATION_TOKEN = 'tok-123';
    const before = seen.length;
    await expect(defaultProvider()()).rejects.toThrow(/attacker\.example\.com is refused/);
    expect(seen.length).toBe(before);
  });

  it('fails with a named error saying what to set when there is nothing', async () => {
    clear();
    const err = await defaultProvider()().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CredentialsProviderError);
    expect((err as Error).name).toBe('CredentialsProviderError');
    expect((err as Error).message).toMatch(/AWS_ACCESS_KEY_ID/);
  });

  it('moves along a chain past a link that says to, as the SDK’s chains do', async () => {
    clear();
    const chain = createCredentialChain(fromEnv(), async () => ({
      accessKeyId: 'ASIANEXT',
      secretAccessKey: 'next',
    }));
    await expect(chain()).resolves.toMatchObject({ accessKeyId: 'ASIANEXT' });
  });
});
