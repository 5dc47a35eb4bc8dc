import { describe, expect, it } from 'vitest';
import { PriceTableError } from '../../../lambdas/core/errors.js';
import { SERVICE_PRICE_TABLE, servicePricesFor } from '../../../lambdas/core/pricing.js';
import {
  costOf,
  countDynamoRequest,
  countS3Request,
  metered,
  runCost,
  runUsage,
  type UsageEvent,
  usageSnapshot,
} from '../../../lambdas/core/usage.js';

const US = servicePricesFor('us-east-1');

/** A clock the test moves by hand. */
function clock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('the usage meter', () => {
  it('counts one invocation: billed ms from its start, memory from the context, requests by kind', async () => {
    const c = clock();
    const handler = metered(
      async () => {
        c.advance(40.2);
        countDynamoRequest({ readUnits: 1, writeUnits: 0 });
        countDynamoRequest({ readUnits: 0, writeUnits: 4 });
        countS3Request('put');
        return usageSnapshot({ readUnits: 0, writeUnits: 2 }, c.now);
      },
      { AWS_REGION: 'us-east-2' },
      c.now,
    );
    // The first invocation is the cold start: the init (here 1,000 ms since the process began) is billed too.
    const cold = await handler(
      {},
      { awsRequestId: 'req-1', functionName: 'AgentStep', memoryLimitInMB: '512' },
    );
    expect(cold).toMatchObject({
      invocation: 'req-1',
      fn: 'AgentStep',
      region: 'us-east-2',
      memoryMb: 512,
      billedMs: 1_041,
      // Two requests counted, plus the write that carries the snapshot.
      dynamodb: { requests: 3, readUnits: 1, writeUnits: 6 },
      s3: { puts: 1, gets: 0 },
    });
    const warm = await handler({}, { awsRequestId: 'req-2', memoryLimitInMB: 1024 });
    expect(warm?.billedMs).toBe(41);
    expect(warm?.memoryMb).toBe(1024);
  });

  it("bills the function's architecture: the template's when the local runtime names it, else this process's", async () => {
    const arch = async (env: Record<string, string>) =>
      (await metered(async () => usageSnapshot(), { AWS_REGION: 'us-east-1', ...env })({}))?.arch;
    expect(await arch({ CHAPERONE_LAMBDA_ARCHITECTURE: 'arm64' })).toBe('arm64');
    expect(await arch({ CHAPERONE_LAMBDA_ARCHITECTURE: 'x86_64' })).toBe('x86_64');
    expect(await arch({})).toBe(process.arch === 'arm64' ? 'arm64' : 'x86_64');
  });

  it('keeps concurrent invocations apart and counts nothing outside one', async () => {
    countDynamoRequest({ readUnits: 9, writeUnits: 9 });
    expect(usageSnapshot()).toBeUndefined();
    const handler = metered(
      async (n: number) => {
        for (let i = 0; i < n; i++) {
          await new Promise((r) => setImmediate(r));
          countDynamoRequest({ readUnits: 1, writeUnits: 0 });
        }
        return usageSnapshot();
      },
      { AWS_REGION: 'us-east-1' },
    );
    const [a, b] = await Promise.all([handler(3, { awsRequestId: 'a' }), handler(5, { awsRequestId: 'b' })]);
    expect(a?.dynamodb.requests).toBe(3);
    expect(b?.dynamodb.requests).toBe(5);
  });
});

const snap = (invocation: string, seq: number, extra: Partial<Record<string, unknown>> = {}) => ({
  invocation,
  fn: 'f',
  region: 'us-east-1',
  arch: 'arm64',
  memoryMb: 1024,
  billedMs: 100 * seq,
  seq,
  dynamodb: { requests: seq, readUnits: seq, writeUnits: 2 * seq },
  s3: { puts: 0, gets: 0 },
  ...extra,
});

describe('a run usage over its trail', () => {
  it("takes each invocation's latest snapshot once, adds the model calls and the transitions counted at finish", () => {
    const trail: UsageEvent[] = [
      { type: 'run_started', usage: snap('api', 2) },
      {
        type: 'model_call',
        costUsd: 0.0123,
        inputTokens: 100,
        outputTokens: 50,
        cacheReadTokens: 1000,
        cacheWriteTokens: 10,
        usage: snap('agent-1', 2),
      },
      // A later event of the same invocation: its snapshot supersedes the earlier one.
      { type: 'tool_rejected', usage: snap('agent-1', 3) },
      { type: 'tool_call', usage: snap('tool-1', 2, { arch: 'x86_64', memoryMb: 512 }) },
      { type: 'run_finished', execution: { transitions: 9, historyEvents: 31 }, usage: snap('finish', 1) },
      { type: 'guardrail', usage: { nonsense: true } },
    ];
    const u = runUsage(trail);
    expect(u.lambdaRequests).toBe(4);
    expect(u.lambdaBilledMs).toBe(200 + 300 + 200 + 100);
    expect(u.lambdaGbSeconds.arm64).toBeCloseTo(0.6, 9);
    expect(u.lambdaGbSeconds.x86_64).toBeCloseTo(0.5 * 0.2, 9);
    expect(u.dynamodb).toEqual({ requests: 8, readUnits: 8, writeUnits: 16 });
    expect(u.sfnTransitions).toBe(9);
    expect(u.historyEvents).toBe(31);
    expect(u.modelUsd).toBe(0.0123);
    expect(u.modelTokens).toEqual({ input: 100, output: 50, cacheRead: 1000, cacheWrite: 10 });
    expect(u.regions).toEqual(['us-east-1']);
  });
});

describe('runUsage: every call the ledger paid for', () => {
  it('counts conversation summaries and a model judge as model cost, and Bedrock Guardrails apart', () => {
    const u = runUsage([
      { type: 'model_call', costUsd: 0.01, inputTokens: 100, outputTokens: 10 },
      { type: 'conversation_summary', costUsd: 0.002, inputTokens: 900, outputTokens: 60 },
      {
        type: 'classifier_call',
        tier: 'model-judge',
        costUsd: 0.0005,
        inputTokens: 300,
        outputTokens: 20,
        cacheReadTokens: 5,
        cacheWriteTokens: 1,
      },
      { type: 'classifier_call', tier: 'bedrock-guardrails', costUsd: 0.00045, textUnits: 3 },
      { type: 'classifier_call', tier: 'bedrock-guardrails', costUsd: 0.00015, textUnits: 1 },
      // A rejection names its cost in words only: counted once, by its classifier_call.
      { type: 'guardrail', rule: 'classifier_flagged', message: '… ($0.000150)' },
    ]);
    expect(u.modelUsd).toBeCloseTo(0.0125, 12);
    expect(u.modelTokens).toEqual({ input: 1300, output: 90, cacheRead: 5, cacheWrite: 1 });
    expect(u.guardrails.classifications).toBe(2);
    expect(u.guardrails.textUnits).toBe(4);
    expect(u.guardrails.usd).toBeCloseTo(0.0006, 12);
    const cost = costOf(u, US);
    expect(cost.model).toBeCloseTo(0.0125, 9);
    expect(cost.guardrails).toBeCloseTo(0.0006, 9);
    expect(cost.total).toBeCloseTo(0.0131, 9);
  });
});

describe('costOf', () => {
  it('prices each service at the table: transitions, GB-seconds by architecture, requests, request units', () => {
    const cost = costOf(
      {
        lambdaRequests: 1_000_000,
        lambdaGbSeconds: { arm64: 1_000, x86_64: 1_000 },
        lambdaBilledMs: 0,
        dynamodb: { requests: 3_000_000, readUnits: 2_000_000, writeUnits: 1_000_000 },
        s3: { puts: 1_000, gets: 10_000 },
        sfnTransitions: 1_000_000,
        modelUsd: 1.5,
        modelTokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
        guardrails: { classifications: 4, textUnits: 2_000, usd: 0.3 },
        regions: ['us-east-1'],
      },
      US,
    );
    // $25 per million transitions; $0.20 per million requests + 1,000 GB-s at $0.0000133334 (arm64)
    // and $0.0000166667 (x86); $0.125 / $0.625 per million read / write units; $0.005 / $0.0004 per 1,000.
    expect(cost.stepFunctions).toBe(25);
    expect(cost.lambda).toBeCloseTo(0.2 + 0.0133334 + 0.0166667, 9);
    expect(cost.dynamodb).toBe(0.25 + 0.625);
    expect(cost.s3).toBeCloseTo(0.005 + 0.004, 9);
    expect(cost.model).toBe(1.5);
    expect(cost.guardrails).toBe(0.3);
    expect(cost.total).toBeCloseTo(25 + 0.2300001 + 0.875 + 0.009 + 1.5 + 0.3, 8);
  });

  it('a transition not counted yet costs nothing rather than a guess', () => {
    const { cost } = runCost([{ type: 'run_started', usage: snap('api', 1) }], 'us-east-1');
    expect(cost.stepFunctions).toBe(0);
    expect(cost.lambda).toBeGreaterThan(0);
  });
});

describe('the service price table', () => {
  it('a Region it lacks is a PriceTableError naming the Region', () => {
    expect(() => servicePricesFor('mars-north-1')).toThrow(PriceTableError);
    expect(() => servicePricesFor('mars-north-1')).toThrow(/"mars-north-1".*priced Regions: us-east-1/);
    expect(() =>
      runCost([{ type: 'run_started', usage: snap('api', 1, { region: 'xx-1' }) }], 'us-east-1'),
    ).toThrow(/"xx-1"/);
  });

  it('prices every Region it has for every service', () => {
    for (const [region, p] of Object.entries(SERVICE_PRICE_TABLE)) {
      for (const v of [p.sfnTransition, p.lambdaGbSecond.arm64, p.lambdaGbSecond.x86_64, p.lambdaRequest])
        expect(v, region).toBeGreaterThan(0);
      for (const v of [p.dynamodbReadUnit, p.dynamodbWriteUnit, p.s3Put, p.s3Get])
        expect(v, region).toBeGreaterThan(0);
    }
  });
});
