import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../../lambdas/adapters/dynamo-client.js';
import { DynamoRunStore } from '../../../lambdas/adapters/dynamo-run-store.js';
import type { Ledger, Reservation, ReserveOutcome } from '../../../lambdas/core/run-records.js';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../../local/aws/dynamodb.js';
import { TABLES } from '../../support/agent-harness.js';

let dir: string;
let dynamo: LocalDynamo;
let store: DynamoRunStore;
let runs = 0;

beforeAll(async () => {
  // The document client reads credentials from the environment, as in Lambda.
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  dir = mkdtempSync(join(tmpdir(), 'chaperone-ledger-'));
  dynamo = await startLocalDynamo({ dataDir: join(dir, 'dynamo') });
  await ensureTables(dynamo.client, TABLES);
  store = new DynamoRunStore(createDocumentClient({ region: 'us-east-1', endpoint: dynamo.url }), 'Runs');
});
afterAll(async () => {
  await dynamo.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh run with a ledger at these limits (the rest generous). */
async function runWithLedger(limits: {
  tokens?: number;
  costMicros?: number;
  steps?: number;
}): Promise<string> {
  runs += 1;
  const runId = `ledger-${runs}`;
  const now = new Date().toISOString();
  const tokens = limits.tokens ?? 1_000_000;
  const cost = limits.costMicros ?? 1_000_000_000;
  const steps = limits.steps ?? 1_000_000;
  const ledger: Ledger = {
    tokenLimit: tokens,
    tokensRemaining: tokens,
    tokensUsed: 0,
    costLimitMicros: cost,
    costRemainingMicros: cost,
    costUsedMicros: 0,
    stepLimit: steps,
    stepsRemaining: steps,
    stepsUsed: 0,
    toolFailureLimit: 8,
    toolFailures: 0,
  };
  const created = await store.createRun(
    {
      runId,
      workflow: 'ledger-tests',
      input: {},
      status: 'RUNNING',
      createdAt: now,
      updatedAt: now,
      deadline: Date.now() + 60_000,
    },
    ledger,
  );
  expect(created).toBe(true);
  return runId;
}

const granted = (outcomes: ReserveOutcome[]) =>
  outcomes.filter((o): o is Extract<ReserveOutcome, { ok: true }> => o.ok);
const refused = (outcomes: ReserveOutcome[]) =>
  outcomes.filter((o): o is Extract<ReserveOutcome, { ok: false }> => !o.ok);

describe('token reservations under concurrency', () => {
  it('grants exactly floor(limit / each) of 100 concurrent reservations and never overshoots', async () => {
    const limit = 10_000;
    const each: Reservation = { tokens: 350, costMicros: 0, steps: 0 };
    const runId = await runWithLedger({ tokens: limit });

    const outcomes = await Promise.all(
      Array.from({ length: 100 }, (_, i) => store.reserve(runId, `branch#${i}`, each)),
    );

    const ok = granted(outcomes);
    expect(ok).toHaveLength(Math.floor(limit / each.tokens)); // 28
    for (const o of ok) expect(o.ledger.tokensRemaining).toBeGreaterThanOrEqual(0);
    const no = refused(outcomes);
    expect(no).toHaveLength(100 - ok.length);
    for (const o of no) expect(o.limit).toBe('tokens');
    expect((await store.getLedger(runId))?.tokensRemaining).toBe(limit - ok.length * each.tokens);

    // Every granted call uses its full reservation: the worst case the ledger allowed.
    const keys = outcomes.flatMap((o, i) => (o.ok ? [`branch#${i}`] : []));
    await Promise.all(keys.map((k) => store.settle(runId, k, { tokens: each.tokens, costMicros: 0 })));
    expect(await store.openReservations(runId)).toEqual({});
    const after = await store.getLedger(runId);
    const overshoot = Math.max(0, (after?.tokensUsed ?? Number.POSITIVE_INFINITY) - limit);
    expect(overshoot).toBe(0);
    expect(after?.tokensUsed).toBe(9_800);
    expect(after?.tokensRemaining).toBe(200);
    expect((after?.tokensUsed ?? 0) + (after?.tokensRemaining ?? 0)).toBe(limit);
  });

  it('settles a reservation by giving back the part the call did not use', async () => {
    const runId = await runWithLedger({ tokens: 10_000, costMicros: 50_000 });
    const reservation: Reservation = { tokens: 4_000, costMicros: 20_000, steps: 1 };
    const held = await store.reserve(runId, 'call', reservation);
    expect(held.ok && held.ledger.tokensRemaining).toBe(6_000);

    const settled = await store.settle(runId, 'call', { tokens: 1_250, costMicros: 6_100 });

    expect(settled?.tokensRemaining).toBe(8_750);
    expect(settled?.tokensUsed).toBe(1_250);
    expect(settled?.costRemainingMicros).toBe(43_900);
    expect(settled?.costUsedMicros).toBe(6_100);
    expect(settled?.stepsUsed).toBe(1);
    expect(await store.getLedger(runId)).toEqual(settled);
  });

  it('reserves once per claim key and settles once, however often either is retried', async () => {
    const runId = await runWithLedger({ tokens: 10_000, costMicros: 50_000, steps: 5 });
    const reservation: Reservation = { tokens: 4_000, costMicros: 20_000, steps: 1 };

    const first = await store.reserve(runId, 'model#a#000001', reservation);
    const retry = await store.reserve(runId, 'model#a#000001', {
      tokens: 4_100,
      costMicros: 20_500,
      steps: 1,
    });

    expect(first.ok && first.reused).toBeUndefined();
    expect(retry).toMatchObject({ ok: true, reused: reservation });
    const held = await store.getLedger(runId);
    expect(held?.tokensRemaining).toBe(6_000);
    expect(held?.stepsUsed).toBe(1);

    const settled = await store.settle(runId, 'model#a#000001', { tokens: 1_000, costMicros: 5_000 });
    const again = await store.settle(runId, 'model#a#000001', { tokens: 1_000, costMicros: 5_000 });

    expect(settled?.tokensUsed).toBe(1_000);
    expect(again).toBeUndefined();
    const ledger = await store.getLedger(runId);
    expect(ledger?.tokensUsed).toBe(1_000);
    expect(ledger?.tokensRemaining).toBe(9_000);
    expect((ledger?.tokenLimit ?? 0) - (ledger?.tokensRemaining ?? 0) - (ledger?.tokensUsed ?? 0)).toBe(0);
  });
});

describe('cost and step limits', () => {
  it('refuses a reservation the cost budget cannot cover, naming cost', async () => {
    const runId = await runWithLedger({ tokens: 1_000_000, costMicros: 10_000 });
    const first = await store.reserve(runId, 'one', { tokens: 1_000, costMicros: 7_000, steps: 1 });
    expect(first.ok).toBe(true);

    const second = await store.reserve(runId, 'two', { tokens: 1_000, costMicros: 7_000, steps: 1 });

    expect(second).toMatchObject({ ok: false, limit: 'cost' });
    expect(second.ledger.costRemainingMicros).toBe(3_000);
    // A refusal holds nothing back.
    const ledger = await store.getLedger(runId);
    expect(ledger?.tokensRemaining).toBe(999_000);
    expect(ledger?.stepsUsed).toBe(1);
  });

  it('grants exactly the step limit of 20 concurrent one-step reservations', async () => {
    const runId = await runWithLedger({ steps: 6 });

    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.reserve(runId, `step#${i}`, { tokens: 10, costMicros: 10, steps: 1 }),
      ),
    );

    expect(granted(outcomes)).toHaveLength(6);
    expect(refused(outcomes).map((o) => o.limit)).toEqual(Array(14).fill('steps'));
    const ledger = await store.getLedger(runId);
    expect(ledger?.stepsUsed).toBe(6);
    expect(ledger?.stepsRemaining).toBe(0);
    expect(ledger?.tokensRemaining).toBe(1_000_000 - 60);
  });
});

describe('a refusal as DynamoDB sends it', () => {
  let stub: Server;
  let url: string;

  beforeAll(async () => {
    // dynalite ignores ReturnValuesOnConditionCheckFailure; DynamoDB answers a failed
    // condition with the old item in wire format. A stub is the only way to get that here.
    stub = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const n = (v: number) => ({ N: String(v) });
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(
          JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
            message: 'The conditional request failed',
            Item: {
              pk: { S: 'RUN#aws' },
              sk: { S: 'LEDGER' },
              tokenLimit: n(10_000),
              tokensRemaining: n(200),
              tokensUsed: n(9_800),
              costLimitMicros: n(5_000_000),
              costRemainingMicros: n(4_000_000),
              costUsedMicros: n(1_000_000),
              stepLimit: n(20),
              stepsRemaining: n(12),
              stepsUsed: n(8),
              toolFailureLimit: n(8),
              toolFailures: n(0),
            },
          }),
        );
      });
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(stub.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => stub.close(() => resolve()));
  });

  // Regression: AWS returns the old item in wire format on a failed condition; the
  // adapter must unmarshall it, or every budget refusal would fail the Lambda.
  it('returns a refusal naming the limit, from the old item DynamoDB returns', async () => {
    const aws = new DynamoRunStore(
      createDocumentClient({ region: 'us-east-1', endpoint: url, maxAttempts: 1 }),
      'Runs',
    );

    const outcome = await aws.reserve('aws', 'model#a#000001', { tokens: 350, costMicros: 0, steps: 1 });

    expect(outcome).toMatchObject({ ok: false, limit: 'tokens' });
    expect(outcome.ledger.tokensRemaining).toBe(200);
  });
});

describe('budget extensions', () => {
  it('extends a ledger written before extensions existed (no extended map), once per approval', async () => {
    // runWithLedger writes a ledger without `extended`, as runs started before extensions did.
    const runId = await runWithLedger({ tokens: 1_000 });
    const extend = () =>
      store.extendLedger(
        runId,
        { approvalId: 'ap_old_run', limit: 'tokens', amount: 500 },
        {
          id: 'EVT#budget_extended#ap_old_run',
          event: {
            type: 'budget_extended',
            step: 'work',
            approvalId: 'ap_old_run',
            limit: 'tokens',
            by: 500,
            approvedBy: 'approver@example.com',
            newLimit: 1_500,
          },
        },
      );
    expect(await extend()).toBe(true);
    const ledger = await store.getLedger(runId);
    expect(ledger?.tokenLimit).toBe(1_500);
    expect(ledger?.tokensRemaining).toBe(1_500);
    expect(ledger?.extended?.tokens).toBe(500);
    // The same approval again changes nothing.
    expect(await extend()).toBe(false);
    expect((await store.getLedger(runId))?.tokenLimit).toBe(1_500);
    const events = (await store.listEvents(runId)).filter((e) => e.type === 'budget_extended');
    expect(events).toHaveLength(1);
  });
});
