import { transitionsOf } from '../../lambdas/adapters/sfn-engine.js';
import type { RunCost } from '../../lambdas/core/usage.js';
import { AgentHarness, proxyEvent } from '../../test/support/agent-harness.js';
import { loopScript, loopWorkflow } from './orchestration.js';
import { table } from './table.js';

const costWorkflow = loopWorkflow(
  'cost-loop',
  'An agent loop with one no-op tool call per iteration: what each iteration costs.',
);

const script = loopScript('cost-loop');

/** The services of a run's cost, in the order printed. */
const SERVICES = ['model', 'stepFunctions', 'lambda', 'dynamodb', 's3'] as const;
type Service = (typeof SERVICES)[number];

interface Measured {
  usd: RunCost;
  transitions: number;
  lambdaRequests: number;
  lambdaGbSeconds: number;
  dynamodbRequests: number;
  readUnits: number;
  writeUnits: number;
  /** DynamoDB requests that reached the table (the fault proxy, passing everything through). */
  dynamodbObserved: number;
  /** State transitions counted from the history after the execution ended. */
  transitionsObserved: number;
}

/**
 * Cost per agent iteration, by service, as `GET /runs/{id}` prices it: model
 * tokens (the scripted model's usage at Haiku 4.5's prices), Step Functions
 * transitions, Lambda GB-seconds and requests, DynamoDB request units, S3
 * requests, at us-east-1 list prices. An iteration is one model call and one
 * no-op tool call; per iteration is the marginal cost (an n-iteration run
 * against a 1-iteration run, over n − 1). Lambda time is this machine's, with
 * the handlers in-process: read it as an order of magnitude, not as what
 * Lambda would bill. The metered figures are set beside what reached
 * DynamoDB and what the execution history holds.
 */
export async function benchCost(options: {
  iterations: number;
  runs: number;
}): Promise<{ text: string; json: Record<string, unknown> }> {
  const h = await AgentHarness.start([costWorkflow], {}, { faults: true });
  try {
    h.model.use(script);
    const api = h.api();
    const one = async (iterations: number): Promise<Measured> => {
      const seen = h.faults?.requests.length ?? 0;
      const { runId, execution } = await h.run('cost-loop', { iterations });
      if (execution.status !== 'SUCCEEDED')
        throw new Error(`cost bench run ${runId} ended ${execution.status}: ${execution.error ?? ''}`);
      const dynamodbObserved = (h.faults?.requests.length ?? 0) - seen;
      const res = await api(proxyEvent('GET', '/runs/{id}', { id: runId }, null));
      const body = JSON.parse(res.body) as {
        cost?: {
          usd: RunCost;
          usage: {
            lambda: { requests: number; gbSeconds: number };
            dynamodb: { requests: number; readUnits: number; writeUnits: number };
            stepFunctions: { transitions: number } | null;
          };
        };
      };
      if (!body.cost) throw new Error(`GET /runs/${runId} shows no cost: ${res.body.slice(0, 300)}`);
      const arn = `arn:aws:states:us-east-1:000000000000:execution:cost-loop:${runId}`;
      const types: string[] = [];
      let nextToken: string | undefined;
      do {
        const page = h.sfn.getExecutionHistory({
          executionArn: arn,
          maxResults: 1000,
          ...(nextToken ? { nextToken } : {}),
        });
        for (const e of page.events) types.push(e.type);
        nextToken = page.nextToken;
      } while (nextToken);
      const u = body.cost.usage;
      return {
        usd: body.cost.usd,
        transitions: u.stepFunctions?.transitions ?? 0,
        lambdaRequests: u.lambda.requests,
        lambdaGbSeconds: u.lambda.gbSeconds,
        dynamodbRequests: u.dynamodb.requests,
        readUnits: u.dynamodb.readUnits,
        writeUnits: u.dynamodb.writeUnits,
        dynamodbObserved,
        transitionsObserved: transitionsOf(types),
      };
    };

    await one(2); // warm-up: module loading, first connections
    const n = options.iterations;
    const longs: Measured[] = [];
    const singles: Measured[] = [];
    for (let i = 0; i < options.runs; i++) {
      longs.push(await one(n));
      singles.push(await one(1));
    }
    const mean = (runs: Measured[], f: (m: Measured) => number) =>
      runs.reduce((s, r) => s + f(r), 0) / Math.max(1, runs.length);
    const perIteration = (f: (m: Measured) => number) => (mean(longs, f) - mean(singles, f)) / (n - 1);

    const usdPerIteration = Object.fromEntries(
      [...SERVICES, 'total' as const].map((s) => [s, perIteration((m) => m.usd[s])]),
    ) as Record<Service | 'total', number>;
    const usdPerRun = Object.fromEntries(
      [...SERVICES, 'total' as const].map((s) => [s, mean(longs, (m) => m.usd[s])]),
    ) as Record<Service | 'total', number>;
    const units = {
      transitions: perIteration((m) => m.transitions),
      lambdaRequests: perIteration((m) => m.lambdaRequests),
      lambdaGbSeconds: perIteration((m) => m.lambdaGbSeconds),
      dynamodbRequests: perIteration((m) => m.dynamodbRequests),
      readUnits: perIteration((m) => m.readUnits),
      writeUnits: perIteration((m) => m.writeUnits),
    };
    const usd = (v: number) => `$${v.toFixed(7)}`;
    const share = (v: number) => `${((100 * v) / Math.max(1e-12, usdPerIteration.total)).toFixed(1)}%`;
    const label: Record<Service, string> = {
      model: 'model tokens',
      stepFunctions: 'Step Functions',
      lambda: 'Lambda',
      dynamodb: 'DynamoDB',
      s3: 'S3',
    };
    const unitsOf: Record<Service, string> = {
      model: 'Haiku 4.5 list prices',
      stepFunctions: `${units.transitions.toFixed(2)} transitions`,
      lambda: `${units.lambdaRequests.toFixed(2)} requests, ${units.lambdaGbSeconds.toFixed(4)} GB-s`,
      dynamodb: `${units.dynamodbRequests.toFixed(2)} requests, ${units.readUnits.toFixed(2)} RRU, ${units.writeUnits.toFixed(2)} WRU`,
      s3: 'no payload offloaded',
    };
    const byService = table(
      `Cost per agent iteration by service (one model call + one no-op tool call; marginal over a ${n}-iteration run against a 1-iteration run, mean of ${options.runs} each; us-east-1 list prices)`,
      ['service', 'USD per iteration', 'share', `USD per ${n}-iteration run`, 'units per iteration'],
      [
        ...SERVICES.map((s) => [
          label[s],
          usd(usdPerIteration[s]),
          share(usdPerIteration[s]),
          usd(usdPerRun[s]),
          unitsOf[s],
        ]),
        ['total', usd(usdPerIteration.total), '100%', usd(usdPerRun.total), ''],
      ],
    );
    const crossCheck = table(
      `Metered against observed (${n}-iteration runs, mean)`,
      ['figure', 'metered (trail)', 'observed', 'where observed'],
      [
        [
          'DynamoDB requests per run',
          mean(longs, (m) => m.dynamodbRequests).toFixed(1),
          mean(longs, (m) => m.dynamodbObserved).toFixed(1),
          'requests that reached the table',
        ],
        [
          'state transitions per run',
          mean(longs, (m) => m.transitions).toFixed(1),
          mean(longs, (m) => m.transitionsObserved).toFixed(1),
          'execution history after the end',
        ],
      ],
    );
    return {
      text: [byService, crossCheck].join('\n'),
      json: {
        costPerIterationUsd: usdPerIteration,
        costPerRunUsd: { iterations: n, ...usdPerRun },
        costUnitsPerIteration: units,
        costMeteredVsObserved: {
          dynamodbRequestsPerRun: {
            metered: mean(longs, (m) => m.dynamodbRequests),
            observed: mean(longs, (m) => m.dynamodbObserved),
          },
          transitionsPerRun: {
            metered: mean(longs, (m) => m.transitions),
            observed: mean(longs, (m) => m.transitionsObserved),
          },
        },
      },
    };
  } finally {
    await h.close();
  }
}
