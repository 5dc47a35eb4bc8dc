import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoApprovalStore } from '../../../lambdas/adapters/dynamo-approval-store.js';
import { createDocumentClient } from '../../../lambdas/adapters/dynamo-client.js';
import { DynamoRunList } from '../../../lambdas/adapters/dynamo-run-list.js';
import { DynamoRunStore } from '../../../lambdas/adapters/dynamo-run-store.js';
import { RETRYABLE_ERROR_NAMES } from '../../../lambdas/core/errors.js';
import { platformRetry } from '../../../state-machines/compile/context.js';

/**
 * A DynamoDB that cannot be reached past the client's attempts (every
 * connection reset, or refused) is the retryable StoreUnavailableError from
 * every store, which the state machines retry: a network blip does not fail a
 * run. Before, the transport error escaped as a TimeoutError no Retry names,
 * and the execution failed (seen in CI: a reset during a crash test).
 */
let resetting: Server;
let url: string;
beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  // Accepts each connection and resets it at once: "read ECONNRESET" on every attempt.
  resetting = createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((r) => resetting.listen(0, '127.0.0.1', r));
  const address = resetting.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  url = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  await new Promise((r) => resetting.close(r));
});

const stores = (endpoint: string) => {
  const db = createDocumentClient({ region: 'us-east-1', endpoint, maxAttempts: 2 });
  return {
    'the run store': () => new DynamoRunStore(db, 'Runs').getRun('r1'),
    'the approval store': () => new DynamoApprovalStore(db, 'Approvals').get('a1'),
    'the runs list': () => new DynamoRunList(db, 'Runs').listRuns(10),
  };
};

describe('a store that cannot be reached', () => {
  it('is StoreUnavailableError from every store, for a reset and for a refused connection', async () => {
    // A port nothing listens on: connections refused.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    for (const endpoint of [url, `http://127.0.0.1:${port}`])
      for (const [what, call] of Object.entries(stores(endpoint))) {
        const err = await call().catch((e: unknown) => e);
        expect(err, `${what} at ${endpoint}`).toMatchObject({
          name: 'StoreUnavailableError',
          retryable: true,
        });
        expect(String((err as Error).message), what).toMatch(
          /unreachable: .*(ECONNRESET|ECONNREFUSED|socket hang up)/,
        );
      }
  });

  it('is retried by the state machines and counted retryable', () => {
    expect(RETRYABLE_ERROR_NAMES).toContain('StoreUnavailableError');
    expect(platformRetry()[0]?.ErrorEquals).toContain('StoreUnavailableError');
  });
});
