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
 * List prices per model family, USD per million tokens. A model id matches the
 * longest key it starts with, so dated ids (`claude-sonnet-4-5-20250929`) work.
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

/** The price of a model id, or undefined when the table does not know it. */
export function priceOf(model: string): ModelPrice | undefined {
  let best: string | undefined;
  for (const key of Object.keys(PRICE_TABLE)) {
    if (model.startsWith(key) && (best === undefined || key.length > best.length)) best = key;
  }
  return best === undefined ? undefined : PRICE_TABLE[best];
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
