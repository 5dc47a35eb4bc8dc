import { PriceTableError } from './errors.js';
import type { Usage } from './model.js';

/** USD per million tokens. Cache writes are 1.25x input, cache reads 0.1x input (Anthropic's published ratios). */
export interface ModelPrice {
  inputPerMTok: number;
  outputPerMTok: number;
  cacheWritePerMTok: number;
  cacheReadPerMTok: number;
}

// Rounded to 1e-6 so 3 * 0.1 is 0.3, not 0.30000000000000004.
const exact = (n: number): number => Math.round(n * 1e6) / 1e6;
const price = (input: number, output: number): ModelPrice => ({
  inputPerMTok: input,
  outputPerMTok: output,
  cacheWritePerMTok: exact(input * 1.25),
  cacheReadPerMTok: exact(input * 0.1),
});

/** USD per million tokens is micro-dollars per token; round up, ignoring float dust. */
const ceilMicros = (micros: number): number => Math.max(0, Math.ceil(micros - 1e-6));

/**
 * List prices per model, USD per million tokens. A model id matches a key
 * that is the id, or the id without its snapshot date or alias suffix
 * (`claude-sonnet-4-5-20250929`, `claude-3-5-haiku-latest`, `claude-opus-4-0`).
 */
export const PRICE_TABLE: Readonly<Record<string, ModelPrice>> = {
  'claude-opus-4-1': price(15, 75),
  'claude-opus-4': price(15, 75),
  'claude-opus-4-5': price(5, 25),
  'claude-sonnet-4-6': price(3, 15),
  'claude-sonnet-4-5': price(3, 15),
  'claude-sonnet-4': price(3, 15),
  'claude-3-7-sonnet': price(3, 15),
  'claude-haiku-4-5': price(1, 5),
  'claude-3-5-haiku': price(0.8, 4),
  'claude-3-haiku': price(0.25, 1.25),
};

/** The geography prefixes of Bedrock's cross-Region inference profile ids (`us.anthropic.…`). */
export const BEDROCK_GEOGRAPHIES = ['global', 'us', 'us-gov', 'eu', 'apac', 'jp', 'au'] as const;

/** A Bedrock model's on-demand prices: through a `global.` inference profile, and everywhere else. */
export interface BedrockModelPrice {
  /** Through a global cross-Region inference profile (`global.anthropic.…`). */
  global: ModelPrice;
  /** In-Region (a bare `anthropic.…` id) and through a geographic profile (`us.`, `eu.`, `jp.`, …). */
  regional: ModelPrice;
}

/** From Claude Sonnet 4.5 and Haiku 4.5 on, Bedrock's in-Region and geographic rates are 10% above its global rate. */
const tiered = (input: number, output: number): BedrockModelPrice => ({
  global: price(input, output),
  regional: price(exact(input * 1.1), exact(output * 1.1)),
});
const flat = (input: number, output: number): BedrockModelPrice => ({
  global: price(input, output),
  regional: price(input, output),
});

/**
 * Amazon Bedrock on-demand prices per foundation model, USD per million tokens
 * (AWS's Amazon Bedrock pricing page, Anthropic tab, as of 2026-10: the global
 * rates equal Anthropic's list prices; in-Region and geographic cross-Region
 * inference cost 10% more for Sonnet 4.5, Sonnet 4.6 and Haiku 4.5, e.g.
 * Sonnet 4.6 $3.30 / $16.50 through `us.`; Sonnet 4 has one rate). Cache writes
 * 1.25x and reads 0.1x of input, as on the Anthropic API. A key matches an id
 * that is the key, optionally with a version suffix (`-v1:0`); the long-context
 * variants (`…:1m`), priced differently, match nothing.
 */
export const BEDROCK_PRICE_TABLE: Readonly<Record<string, BedrockModelPrice>> = {
  'anthropic.claude-sonnet-4-6': tiered(3, 15),
  'anthropic.claude-sonnet-4-5-20250929': tiered(3, 15),
  'anthropic.claude-sonnet-4-20250514': flat(3, 15),
  'anthropic.claude-haiku-4-5-20251001': tiered(1, 5),
};

const VERSION_SUFFIX = /^(-v[0-9]+(:[0-9]+)?)?$/;
/**
 * What an Anthropic model id may add to its table key: a snapshot date, or the
 * `-latest` / `-0` alias. Nothing else: `claude-opus-4-6` is not `claude-opus-4`
 * (a newer model at another price), and a typo is not its neighbour.
 */
const ANTHROPIC_SUFFIX = /^(-[0-9]{8}|-latest|-0)?$/;

/** A Bedrock id split into its inference-profile geography (if any) and foundation-model id. */
export function parseBedrockModelId(id: string): { geography?: string; foundationModel: string } {
  const dot = id.indexOf('.');
  const head = dot > 0 ? id.slice(0, dot) : '';
  return (BEDROCK_GEOGRAPHIES as readonly string[]).includes(head)
    ? { geography: head, foundationModel: id.slice(dot + 1) }
    : { foundationModel: id };
}

function bedrockPriceOf(id: string): ModelPrice | undefined {
  const { geography, foundationModel } = parseBedrockModelId(id);
  const key = Object.keys(BEDROCK_PRICE_TABLE).find(
    (k) => foundationModel.startsWith(k) && VERSION_SUFFIX.test(foundationModel.slice(k.length)),
  );
  const entry = key === undefined ? undefined : BEDROCK_PRICE_TABLE[key];
  if (!entry) return undefined;
  return geography === 'global' ? entry.global : entry.regional;
}

/**
 * The price of a model id on a provider, or undefined when the table does not
 * know it (so `defineAgent` refuses the model by name). Anthropic ids match
 * their key with at most a snapshot date or alias after it
 * (`claude-sonnet-4-5-20250929`); Bedrock ids are looked up in
 * {@link BEDROCK_PRICE_TABLE} at the rate of their endpoint (global or not).
 */
export function priceOf(
  model: string,
  provider: 'anthropic' | 'bedrock' = 'anthropic',
): ModelPrice | undefined {
  if (provider === 'bedrock') return bedrockPriceOf(model);
  const key = Object.keys(PRICE_TABLE).find(
    (k) => model.startsWith(k) && ANTHROPIC_SUFFIX.test(model.slice(k.length)),
  );
  return key === undefined ? undefined : PRICE_TABLE[key];
}

/** Micro-dollars (integers) keep the ledger's arithmetic exact. */
export const MICROS_PER_USD = 1_000_000;

/** Cost of a call in micro-dollars, cache tokens priced at their own rates. Rounded up. */
export function costMicros(p: ModelPrice, usage: Usage): number {
  return ceilMicros(
    usage.inputTokens * p.inputPerMTok +
      usage.outputTokens * p.outputPerMTok +
      usage.cacheCreationInputTokens * p.cacheWritePerMTok +
      usage.cacheReadInputTokens * p.cacheReadPerMTok,
  );
}

/** Worst-case cost of a call: every input token at the cache-write rate (the dearest input), every output token. */
export function worstCaseCostMicros(p: ModelPrice, inputTokens: number, maxOutputTokens: number): number {
  // Rounded up as it is: a reservation may be a micro-dollar high, never low.
  return Math.ceil(
    inputTokens * Math.max(p.inputPerMTok, p.cacheWritePerMTok) + maxOutputTokens * p.outputPerMTok,
  );
}

/**
 * One Region's AWS list prices for what a run uses besides model tokens, USD
 * per unit: Step Functions Standard state transitions, Lambda GB-seconds (by
 * architecture) and requests, DynamoDB on-demand request units, S3 Standard
 * requests (the payload bucket).
 */
export interface ServicePrices {
  sfnTransition: number;
  lambdaGbSecond: { arm64: number; x86_64: number };
  lambdaRequest: number;
  dynamodbReadUnit: number;
  dynamodbWriteUnit: number;
  s3Put: number;
  s3Get: number;
}

const perThousand = (usd: number): number => usd / 1_000;
const perMillion = (usd: number): number => usd / 1_000_000;

/** us-east-1, us-east-2 and us-west-2 share every one of these prices. */
const US_STANDARD: ServicePrices = {
  sfnTransition: perThousand(0.025),
  lambdaGbSecond: { arm64: 0.0000133334, x86_64: 0.0000166667 },
  lambdaRequest: perMillion(0.2),
  dynamodbReadUnit: perMillion(0.125),
  dynamodbWriteUnit: perMillion(0.625),
  s3Put: perThousand(0.005),
  s3Get: perThousand(0.0004),
};

/**
 * AWS list prices by Region (the pricing pages of Step Functions, Lambda,
 * DynamoDB and S3, as of 2026-10; on-demand, first tier, no free tier
 * subtracted — the free tier is per account, not per run). A Region not
 * here cannot be priced: {@link servicePricesFor} names it. Add a Region by
 * its published prices, never by a neighbour's.
 */
export const SERVICE_PRICE_TABLE: Readonly<Record<string, ServicePrices>> = {
  'us-east-1': US_STANDARD,
  'us-east-2': US_STANDARD,
  'us-west-2': US_STANDARD,
};

/** The service prices of a Region; a Region the table does not have is a {@link PriceTableError} naming it. */
export function servicePricesFor(region: string): ServicePrices {
  const prices = SERVICE_PRICE_TABLE[region];
  if (!prices)
    throw new PriceTableError(
      `Region "${region}" is not in the service price table (lambdas/core/pricing.ts SERVICE_PRICE_TABLE); priced Regions: ${Object.keys(SERVICE_PRICE_TABLE).join(', ')}`,
    );
  return prices;
}
