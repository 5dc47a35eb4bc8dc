import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { MICROS_PER_USD, type ServicePrices, servicePricesFor } from './pricing.js';
import type { Completion, TrailEvent } from './run-records.js';

/**
 * The usage meter: what one Lambda invocation costs besides model tokens,
 * counted as it happens and carried on the trail events the step writes
 * anyway, so metering adds no DynamoDB request.
 *
 * - **Lambda**: billed duration from the handler's own start (plus the
 *   container's init on a cold start, which Lambda bills too) to the moment of
 *   the snapshot, rounded up to the millisecond, at the function's memory size
 *   from the Lambda context; one request per invocation.
 * - **DynamoDB**: every request through the document client, counted by an SDK
 *   middleware (`lambdas/adapters/dynamo-usage.ts`) in request units: the
 *   units DynamoDB reports (`ConsumedCapacity`) when it reports them, else by
 *   kind and size (reads 4 KB, writes 1 KB a unit, eventually consistent reads
 *   half, transactions double).
 * - **S3**: requests to the payload bucket (`offload.ts`).
 *
 * A snapshot is cumulative within its invocation and names it, so every event
 * an invocation writes may carry one: the run's total takes each invocation's
 * latest snapshot once ({@link runUsage}). The last write of an invocation
 * carries the snapshot that counts; it counts that write itself (the `pending`
 * units), and misses only what follows it (the write's round trip and the
 * return: a few ms of Lambda time, and any read after the last write).
 */
export interface InvocationUsage {
  /** The invocation (Lambda's request id). */
  invocation: string;
  /** The function's name. */
  fn: string;
  /** The Region whose prices apply. */
  region: string;
  arch: 'arm64' | 'x86_64';
  memoryMb: number;
  /** Billed milliseconds so far (init included on a cold start). */
  billedMs: number;
  /** Increases with every request metered: the latest snapshot of an invocation has the highest. */
  seq: number;
  dynamodb: { requests: number; readUnits: number; writeUnits: number };
  s3: { puts: number; gets: number };
}

/** Request units one DynamoDB request consumed (or, before it is sent, will). */
export interface DynamoUnits {
  readUnits: number;
  writeUnits: number;
}

/** What the handler wrapper knows about the invocation (the Lambda context, or what the local runtime passes). */
export interface InvocationContext {
  awsRequestId?: string;
  functionName?: string;
  memoryLimitInMB?: string | number;
}

interface Meter {
  invocation: string;
  fn: string;
  region: string;
  arch: InvocationUsage['arch'];
  memoryMb: number;
  startedAt: number;
  initMs: number;
  seq: number;
  dynamodb: { requests: number; readUnits: number; writeUnits: number };
  s3: { puts: number; gets: number };
}

const current = new AsyncLocalStorage<Meter>();
let coldStart = true;

/** The architecture a function is billed at: the local runtime's is the template's (`CHAPERONE_LAMBDA_ARCHITECTURE`), Lambda's is the process's. */
function architectureOf(env: Record<string, string | undefined>): InvocationUsage['arch'] {
  const named = env.CHAPERONE_LAMBDA_ARCHITECTURE;
  if (named === 'arm64' || named === 'x86_64') return named;
  return process.arch === 'arm64' ? 'arm64' : 'x86_64';
}

/**
 * Wrap a handler so each invocation is metered. `env` gives the Region whose
 * prices apply (`CHAPERONE_PRICING_REGION`, else `AWS_REGION`), the
 * architecture (`CHAPERONE_LAMBDA_ARCHITECTURE`, set by the local runtime from
 * the template; in Lambda, the process's) and, when the context does not, the
 * memory size (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`).
 */
export function metered<E, R>(
  handler: (event: E, context?: unknown) => Promise<R>,
  env: Record<string, string | undefined>,
  now: () => number = () => performance.now(),
): (event: E, context?: unknown) => Promise<R> {
  const region = env.CHAPERONE_PRICING_REGION ?? env.AWS_REGION ?? 'unknown';
  const arch = architectureOf(env);
  return (event, context) => {
    const ctx = (typeof context === 'object' && context !== null ? context : {}) as InvocationContext;
    const startedAt = now();
    // On a cold start Lambda bills the init phase as well: the time since the process (or the
    // local runtime's worker) began, up to this first invocation.
    const initMs = coldStart ? startedAt : 0;
    coldStart = false;
    const meter: Meter = {
      invocation: ctx.awsRequestId ?? randomUUID(),
      fn: ctx.functionName ?? env.AWS_LAMBDA_FUNCTION_NAME ?? 'unknown',
      region,
      arch,
      memoryMb: Number(ctx.memoryLimitInMB ?? env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? 128),
      startedAt,
      initMs,
      seq: 0,
      dynamodb: { requests: 0, readUnits: 0, writeUnits: 0 },
      s3: { puts: 0, gets: 0 },
    };
    return current.run(meter, () => handler(event, context));
  };
}

/** Count one DynamoDB request against the invocation being metered (none: nothing is counted). */
export function countDynamoRequest(units: DynamoUnits): void {
  const meter = current.getStore();
  if (!meter) return;
  meter.seq += 1;
  meter.dynamodb.requests += 1;
  meter.dynamodb.readUnits += units.readUnits;
  meter.dynamodb.writeUnits += units.writeUnits;
}

/** Count one S3 request against the invocation being metered. */
export function countS3Request(kind: 'put' | 'get'): void {
  const meter = current.getStore();
  if (!meter) return;
  meter.seq += 1;
  if (kind === 'put') meter.s3.puts += 1;
  else meter.s3.gets += 1;
}

/**
 * The invocation's usage so far, or undefined outside a metered invocation.
 * `pending`: the units of the write that will carry this snapshot, so the
 * snapshot counts it (the middleware counts it again when it is sent, which
 * later snapshots of the invocation include instead).
 */
export function usageSnapshot(
  pending?: DynamoUnits,
  now: () => number = () => performance.now(),
): InvocationUsage | undefined {
  const meter = current.getStore();
  if (!meter) return undefined;
  const carry = pending ? 1 : 0;
  return {
    invocation: meter.invocation,
    fn: meter.fn,
    region: meter.region,
    arch: meter.arch,
    memoryMb: meter.memoryMb,
    billedMs: Math.ceil(meter.initMs + now() - meter.startedAt),
    seq: meter.seq + carry,
    dynamodb: {
      requests: meter.dynamodb.requests + carry,
      readUnits: meter.dynamodb.readUnits + (pending?.readUnits ?? 0),
      writeUnits: meter.dynamodb.writeUnits + (pending?.writeUnits ?? 0),
    },
    s3: { ...meter.s3 },
  };
}

/**
 * The units of one write of `item` (its JSON size as the item size, 1 KB a
 * unit, doubled in a transaction): the `pending` of the snapshot it carries.
 * The snapshot itself adds ~300 bytes, counted here.
 */
export function pendingWrite(item: unknown, transactional = false): DynamoUnits {
  const bytes = Buffer.byteLength(JSON.stringify(item) ?? '') + SNAPSHOT_BYTES;
  return { readUnits: 0, writeUnits: Math.ceil(bytes / 1024) * (transactional ? 2 : 1) };
}

/**
 * The units of the transaction that completes a claim with `completion`
 * (every part an item, the claim one more) and `extra` items besides (a
 * turn's messages, its event, the ledger's settlement): twice each item's
 * write units, the snapshot counted on the first.
 */
export function pendingCompletion(completion: Completion, extra: readonly unknown[] = []): DynamoUnits {
  return pendingTransaction([
    { result: completion.result },
    ...extra,
    ...(completion.events ?? []),
    ...(completion.results ?? []),
    ...(completion.calls ?? []),
    ...(completion.output ? [completion.output] : []),
    ...(completion.failedCall ? [{ failedCalls: [completion.failedCall] }] : []),
  ]);
}

/**
 * The units of a transaction writing `items` (each its JSON size plus its
 * key's, 1 KB a unit, twice for a transactional write), the snapshot counted
 * on the one at `carrier`.
 */
export function pendingTransaction(items: readonly unknown[], carrier = 0): DynamoUnits {
  let writeUnits = 0;
  items.forEach((item, i) => {
    const bytes =
      Buffer.byteLength(JSON.stringify(item) ?? '') + ITEM_KEY_BYTES + (i === carrier ? SNAPSHOT_BYTES : 0);
    writeUnits += 2 * Math.ceil(bytes / 1024);
  });
  return { readUnits: 0, writeUnits };
}

/**
 * Put the invocation's usage so far on `event` (when metered), counting
 * `pending`, the write that will carry it. Returns the event.
 */
export function stampUsage<E extends TrailEvent>(event: E, pending: DynamoUnits): E {
  const usage = usageSnapshot(pending);
  if (usage) event.usage = usage;
  return event;
}

/** Keys and bookkeeping attributes of an item (`pk`, `sk`, `seq`, `at`). */
const ITEM_KEY_BYTES = 80;

/** About what a snapshot adds to the item that carries it. */
const SNAPSHOT_BYTES = 300;

/** Whether an invocation is being metered here (tests; the adapters count only then). */
export function metering(): boolean {
  return current.getStore() !== undefined;
}

/** A run's usage, summed over its trail: the services besides the model, and the model's own cost. */
export interface RunUsage {
  /** Distinct invocations metered. */
  lambdaRequests: number;
  /** GB-seconds by architecture. */
  lambdaGbSeconds: { arm64: number; x86_64: number };
  lambdaBilledMs: number;
  dynamodb: { requests: number; readUnits: number; writeUnits: number };
  s3: { puts: number; gets: number };
  /** State transitions of the execution, once the run's finish counted them; undefined before. */
  sfnTransitions?: number;
  /** History events of the execution, as counted at finish. */
  historyEvents?: number;
  /**
   * What the run's model calls cost (priced per model id when each settled):
   * its turns (`model_call`), the summaries of its older turns
   * (`conversation_summary`) and its model judge (`classifier_call`).
   */
  modelUsd: number;
  /** Model tokens by kind, for the figures: the same calls. */
  modelTokens: { input: number; output: number; cacheRead: number; cacheWrite: number };
  /** Bedrock Guardrails' classifications (`classifier_call`), their billed text units and their cost. */
  guardrails: { classifications: number; textUnits: number; usd: number };
  /** The Regions the snapshots name (one, unless the stack moved). */
  regions: string[];
}

/** A trail event as far as usage reads it. */
export type UsageEvent = { type: string; usage?: unknown } & Record<string, unknown>;

/**
 * Sum a run's trail: each invocation's latest snapshot once, the model calls'
 * own cost and tokens, the transitions and history events `run_finished`
 * counted. Unknown shapes are skipped, never guessed.
 */
export function runUsage(trail: readonly UsageEvent[]): RunUsage {
  const latest = new Map<string, InvocationUsage>();
  const total: RunUsage = {
    lambdaRequests: 0,
    lambdaGbSeconds: { arm64: 0, x86_64: 0 },
    lambdaBilledMs: 0,
    dynamodb: { requests: 0, readUnits: 0, writeUnits: 0 },
    s3: { puts: 0, gets: 0 },
    modelUsd: 0,
    modelTokens: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    guardrails: { classifications: 0, textUnits: 0, usd: 0 },
    regions: [],
  };
  for (const e of trail) {
    const u = parseUsage(e.usage);
    if (u) {
      const seen = latest.get(u.invocation);
      if (!seen || u.seq > seen.seq || (u.seq === seen.seq && u.billedMs > seen.billedMs))
        latest.set(u.invocation, u);
    }
    // Everything the ledger was charged for is on the trail with its cost, so the two agree.
    if (e.type === 'classifier_call' && e.tier === 'bedrock-guardrails') {
      total.guardrails.classifications += 1;
      total.guardrails.textUnits += num(e.textUnits);
      total.guardrails.usd += num(e.costUsd);
    } else if (e.type === 'model_call_lost') {
      // Charged at its reservation: no tokens are known, only the most it could have cost.
      if (e.call === 'classifier' && e.model === 'bedrock-guardrails') total.guardrails.usd += num(e.costUsd);
      else total.modelUsd += num(e.costUsd);
    } else if (e.type === 'model_call' || e.type === 'conversation_summary' || e.type === 'classifier_call') {
      total.modelUsd += num(e.costUsd);
      total.modelTokens.input += num(e.inputTokens);
      total.modelTokens.output += num(e.outputTokens);
      total.modelTokens.cacheRead += num(e.cacheReadTokens);
      total.modelTokens.cacheWrite += num(e.cacheWriteTokens);
    }
    if (e.type === 'run_finished') {
      const sfn = e.execution;
      if (sfn && typeof sfn === 'object' && !Array.isArray(sfn)) {
        const { transitions, historyEvents } = sfn as Record<string, unknown>;
        if (typeof transitions === 'number') total.sfnTransitions = transitions;
        if (typeof historyEvents === 'number') total.historyEvents = historyEvents;
      }
    }
  }
  for (const u of latest.values()) {
    total.lambdaRequests += 1;
    total.lambdaBilledMs += u.billedMs;
    total.lambdaGbSeconds[u.arch] += (u.memoryMb / 1024) * (u.billedMs / 1000);
    total.dynamodb.requests += u.dynamodb.requests;
    total.dynamodb.readUnits += u.dynamodb.readUnits;
    total.dynamodb.writeUnits += u.dynamodb.writeUnits;
    total.s3.puts += u.s3.puts;
    total.s3.gets += u.s3.gets;
    if (!total.regions.includes(u.region)) total.regions.push(u.region);
  }
  return total;
}

/** A run's cost in USD by service, and the total: what the bill shows for it. */
export interface RunCost {
  model: number;
  /** Amazon Bedrock Guardrails (the classifier tier's `bedrock-guardrails`). */
  guardrails: number;
  stepFunctions: number;
  lambda: number;
  dynamodb: number;
  s3: number;
  total: number;
}

/**
 * Price a run's usage (pure). Model calls and guardrail classifications are already priced (when each settled on the ledger);
 * the services are priced at `prices` (one Region's, {@link servicePricesFor}).
 * Transitions not counted yet (a running run) cost nothing here: the figure
 * grows when the run finishes.
 */
export function costOf(usage: RunUsage, prices: ServicePrices): RunCost {
  const stepFunctions = (usage.sfnTransitions ?? 0) * prices.sfnTransition;
  const lambda =
    usage.lambdaGbSeconds.arm64 * prices.lambdaGbSecond.arm64 +
    usage.lambdaGbSeconds.x86_64 * prices.lambdaGbSecond.x86_64 +
    usage.lambdaRequests * prices.lambdaRequest;
  const dynamodb =
    usage.dynamodb.readUnits * prices.dynamodbReadUnit + usage.dynamodb.writeUnits * prices.dynamodbWriteUnit;
  const s3 = usage.s3.puts * prices.s3Put + usage.s3.gets * prices.s3Get;
  const model = usage.modelUsd;
  const guardrails = usage.guardrails.usd;
  const parts = { model, guardrails, stepFunctions, lambda, dynamodb, s3 };
  const rounded = Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, round(v)])) as Omit<
    RunCost,
    'total'
  >;
  return { ...rounded, total: round(model + guardrails + stepFunctions + lambda + dynamodb + s3) };
}

/**
 * The run's cost from its trail, at the prices of the Region its invocations
 * ran in (`fallbackRegion` when none is metered yet). `execution`: the
 * transitions and history events of an execution that ended without the
 * finish task (which records them on `run_finished`), counted from its
 * history; what the trail records comes first. A Region missing from the
 * table is the named `PriceTableError`.
 */
export function runCost(
  trail: readonly UsageEvent[],
  fallbackRegion: string,
  execution?: { transitions: number; historyEvents: number },
): { usage: RunUsage; cost: RunCost } {
  const usage = runUsage(trail);
  if (usage.sfnTransitions === undefined && execution) {
    usage.sfnTransitions = execution.transitions;
    usage.historyEvents = execution.historyEvents;
  }
  const region = usage.regions[0] ?? fallbackRegion;
  return { usage, cost: costOf(usage, servicePricesFor(region)) };
}

/** USD to 1e-9 (a nano-dollar): below any bill's precision, above float dust. */
const round = (usd: number): number => Math.round(usd * MICROS_PER_USD * 1000) / (MICROS_PER_USD * 1000);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function parseUsage(value: unknown): InvocationUsage | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const u = value as Record<string, unknown>;
  const ddb = u.dynamodb as Record<string, unknown> | undefined;
  const s3 = u.s3 as Record<string, unknown> | undefined;
  if (
    typeof u.invocation !== 'string' ||
    typeof u.billedMs !== 'number' ||
    typeof u.memoryMb !== 'number' ||
    typeof u.seq !== 'number' ||
    !ddb ||
    typeof ddb !== 'object'
  )
    return undefined;
  return {
    invocation: u.invocation,
    fn: typeof u.fn === 'string' ? u.fn : 'unknown',
    region: typeof u.region === 'string' ? u.region : 'unknown',
    arch: u.arch === 'x86_64' ? 'x86_64' : 'arm64',
    memoryMb: u.memoryMb,
    billedMs: u.billedMs,
    seq: u.seq,
    dynamodb: { requests: num(ddb.requests), readUnits: num(ddb.readUnits), writeUnits: num(ddb.writeUnits) },
    s3: { puts: num(s3?.puts), gets: num(s3?.gets) },
  };
}
