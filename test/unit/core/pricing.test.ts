import { describe, expect, it } from 'vitest';
import type { Usage } from '../../../lambdas/core/model.js';
import { costMicros, PRICE_TABLE, priceOf, worstCaseCostMicros } from '../../../lambdas/core/pricing.js';

const usage = (u: Partial<Usage>): Usage => ({
  inputTokens: 0,
  outputTokens: 0,
  cacheReadInputTokens: 0,
  cacheCreationInputTokens: 0,
  ...u,
});

describe('priceOf', () => {
  it('prices dated model ids by their family', () => {
    expect(priceOf('claude-sonnet-4-5-20250929')).toEqual(PRICE_TABLE['claude-sonnet-4-5']);
    expect(priceOf('claude-haiku-4-5-20251001')).toMatchObject({ inputPerMTok: 1, outputPerMTok: 5 });
    expect(priceOf('claude-3-5-haiku-20241022')).toMatchObject({ inputPerMTok: 0.8, outputPerMTok: 4 });
    expect(priceOf('claude-sonnet-4-6')).toMatchObject({ inputPerMTok: 3, outputPerMTok: 15 });
  });

  it('prices each model at its own key, so Opus 4.5 is not priced as Opus 4', () => {
    expect(priceOf('claude-opus-4-5-20251101')).toMatchObject({ inputPerMTok: 5, outputPerMTok: 25 });
    expect(priceOf('claude-opus-4-1-20250805')).toMatchObject({ inputPerMTok: 15, outputPerMTok: 75 });
    expect(priceOf('claude-opus-4-20250514')).toMatchObject({ inputPerMTok: 15, outputPerMTok: 75 });
    expect(priceOf('claude-opus-4-0')).toMatchObject({ inputPerMTok: 15, outputPerMTok: 75 });
    expect(priceOf('claude-3-7-sonnet-latest')).toMatchObject({ inputPerMTok: 3, outputPerMTok: 15 });
  });

  it('does not price a model the table lacks as the family it starts with, nor a typo as its neighbour', () => {
    // A newer Opus at another price would be priced 3x too high as Opus 4, and its budget cut short.
    expect(priceOf('claude-opus-4-6')).toBeUndefined();
    expect(priceOf('claude-opus-4-7-20260101')).toBeUndefined();
    expect(priceOf('claude-sonnet-4-5-typo')).toBeUndefined();
    expect(priceOf('claude-haiku-4-5-nonsense')).toBeUndefined();
    expect(priceOf('claude-haiku-4-5-2025')).toBeUndefined();
    expect(priceOf('claude-haiku-4-5-')).toBeUndefined();
  });

  it('knows nothing about a model that is not in the table', () => {
    expect(priceOf('gpt-4o')).toBeUndefined();
    expect(priceOf('sonnet')).toBeUndefined();
    expect(priceOf('')).toBeUndefined();
  });

  it('prices cache writes at 1.25x and cache reads at 0.1x the input rate', () => {
    for (const p of Object.values(PRICE_TABLE)) {
      expect(p.cacheWritePerMTok).toBeCloseTo(p.inputPerMTok * 1.25, 10);
      expect(p.cacheReadPerMTok).toBeCloseTo(p.inputPerMTok * 0.1, 10);
    }
  });
});

describe('costMicros', () => {
  const sonnet = priceOf('claude-sonnet-4-5') ?? PRICE_TABLE['claude-sonnet-4'];
  if (!sonnet) throw new Error('no Sonnet price');

  it('prices input, output, cache writes and cache reads each at their own rate', () => {
    // 1,000 × $3 + 500 × $15 + 2,000 × $3.75 + 10,000 × $0.30 per MTok = $0.021.
    const cost = costMicros(
      sonnet,
      usage({
        inputTokens: 1_000,
        outputTokens: 500,
        cacheCreationInputTokens: 2_000,
        cacheReadInputTokens: 10_000,
      }),
    );

    expect(cost).toBe(21_000);
  });

  it('makes a cache read a tenth, and a cache write 1.25x, the price of the same tokens uncached', () => {
    const haiku = priceOf('claude-haiku-4-5-20251001');
    if (!haiku) throw new Error('no Haiku 4.5 price');

    expect(costMicros(haiku, usage({ inputTokens: 100_000 }))).toBe(100_000);
    expect(costMicros(haiku, usage({ cacheReadInputTokens: 100_000 }))).toBe(10_000);
    expect(costMicros(haiku, usage({ cacheCreationInputTokens: 100_000 }))).toBe(125_000);
  });

  it('rounds a fraction of a micro-dollar up, never down', () => {
    const haiku = PRICE_TABLE['claude-3-haiku'];
    if (!haiku) throw new Error('no Haiku 3 price');

    expect(costMicros(haiku, usage({ cacheReadInputTokens: 1 }))).toBe(1); // 0.025 µ$
    expect(costMicros(haiku, usage({ inputTokens: 3 }))).toBe(1); // 0.75 µ$
    expect(costMicros(haiku, usage({}))).toBe(0);
  });

  // Regression: float dust must not round up to an extra micro-dollar (112 input + 11
  // output Sonnet tokens cost exactly 336 + 165 = 501 µ$).
  it('charges exactly the cost when it is a whole number of micro-dollars', () => {
    expect(costMicros(sonnet, usage({ inputTokens: 112, outputTokens: 11 }))).toBe(501);
    expect(costMicros(sonnet, usage({ cacheReadInputTokens: 100_000 }))).toBe(30_000);
  });
});

describe('worstCaseCostMicros', () => {
  it('is never below the real cost of a call within the bounds it was given', () => {
    const splits = [
      usage({ inputTokens: 4_000, outputTokens: 1_024 }),
      usage({ cacheCreationInputTokens: 4_000, outputTokens: 1_024 }),
      usage({ cacheReadInputTokens: 3_000, cacheCreationInputTokens: 1_000, outputTokens: 10 }),
      usage({
        inputTokens: 1,
        cacheReadInputTokens: 2_999,
        cacheCreationInputTokens: 1_000,
        outputTokens: 1_024,
      }),
    ];
    for (const p of Object.values(PRICE_TABLE)) {
      const bound = worstCaseCostMicros(p, 4_000, 1_024);
      for (const u of splits) expect(costMicros(p, u)).toBeLessThanOrEqual(bound);
    }
  });
});
