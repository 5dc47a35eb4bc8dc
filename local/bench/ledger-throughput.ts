import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDocumentClient } from '../../lambdas/adapters/dynamo-client.js';
import { DynamoRunStore } from '../../lambdas/adapters/dynamo-run-store.js';
import type { Ledger, Reservation } from '../../lambdas/core/run-records.js';
import { TABLES } from '../../test/support/agent-harness.js';
import { ensureTables, startLocalDynamo } from '../aws/dynamodb.js';
import { round, table } from './table.js';

const ledgerOf = (tokens: number): Ledger => ({
  tokenLimit: tokens,
  tokensRemaining: tokens,
  tokensUsed: 0,
  costLimitMicros: 1_000_000_000,
  costRemainingMicros: 1_000_000_000,
  costUsedMicros: 0,
  stepLimit: 1_000_000,
  stepsRemaining: 1_000_000,
  stepsUsed: 0,
  toolFailureLimit: 8,
  toolFailures: 0,
});

/**
 * The run ledger on local dynalite: conditional-update reservations per
 * second, and the overshoot when 100 reservations race for a budget that
 * covers only some of them (every granted one then settled at its full amount).
 */
export async function benchLedger(options: {
  reservations: number;
  concurrency: number;
  races: number;
}): Promise<string> {
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  const dir = mkdtempSync(join(tmpdir(), 'chaperone-bench-ledger-'));
  const dynamo = await startLocalDynamo({ dataDir: join(dir, 'dynamo') });
  try {
    await ensureTables(dynamo.client, TABLES);
    const store = new DynamoRunStore(
      createDocumentClient({ region: 'us-east-1', endpoint: dynamo.url }),
      'Runs',
    );
    let n = 0;
    const newRun = async (tokens: number) => {
      n += 1;
      const runId = `bench-${n}`;
      const now = new Date().toISOString();
      await store.createRun(
        {
          runId,
          workflow: 'bench',
          input: {},
          status: 'RUNNING',
          createdAt: now,
          updatedAt: now,
          deadline: Date.now() + 3_600_000,
        },
        ledgerOf(tokens),
      );
      return runId;
    };

    // Throughput: a pool of workers, each reserving in turn on one shared ledger.
    const hot = await newRun(1_000_000_000);
    const each: Reservation = { tokens: 100, costMicros: 10, steps: 0 };
    let issued = 0;
    let granted = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: options.concurrency }, async () => {
        while (issued < options.reservations) {
          issued += 1;
          // Each call's reservation is held under its claim's key and settled by it.
          const key = `call#${issued}`;
          if ((await store.reserve(hot, key, each)).ok) {
            granted += 1;
            await store.settle(hot, key, { tokens: each.tokens, costMicros: each.costMicros });
          }
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const throughput = table(
      'Ledger reservations on local dynalite (one run ledger; each a conditional UpdateItem, then its settlement)',
      ['reservations', 'concurrency', 'granted', 'seconds', 'reservations/s'],
      [
        [
          options.reservations,
          options.concurrency,
          granted,
          round(seconds, 2),
          round(options.reservations / seconds, 0),
        ],
      ],
    );

    // Overshoot: 100 concurrent 350-token reservations against 10,000 tokens.
    const rows: Array<Array<string | number>> = [];
    for (let race = 1; race <= options.races; race++) {
      const limit = 10_000;
      const amount: Reservation = { tokens: 350, costMicros: 0, steps: 0 };
      const runId = await newRun(limit);
      const outcomes = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => ({
          key: `branch#${i}`,
          ...(await store.reserve(runId, `branch#${i}`, amount)),
        })),
      );
      const won = outcomes.filter((o) => o.ok);
      const lowest = Math.min(...won.map((o) => o.ledger.tokensRemaining));
      await Promise.all(won.map((o) => store.settle(runId, o.key, { tokens: amount.tokens, costMicros: 0 })));
      const ledger = await store.getLedger(runId);
      const used = ledger?.tokensUsed ?? Number.NaN;
      rows.push([
        race,
        100,
        won.length,
        Math.floor(limit / amount.tokens),
        lowest,
        used,
        limit,
        Math.max(0, used - limit),
      ]);
    }
    const overshoot = table(
      'Overshoot: 100 concurrent reservations of 350 tokens against a 10,000-token budget, granted ones settled in full',
      ['race', 'requests', 'granted', 'expected', 'min remaining', 'tokens used', 'limit', 'overshoot'],
      rows,
    );
    return [throughput, overshoot].join('\n');
  } finally {
    await dynamo.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
