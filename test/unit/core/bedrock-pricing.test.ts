import { describe, expect, it } from 'vitest';
import {
  BEDROCK_PRICE_TABLE,
  costMicros,
  parseBedrockModelId,
  priceOf,
} from '../../../lambdas/core/pricing.js';

describe('Bedrock prices', () => {
  it('prices a global profile at the global rate, in-Region and geographic ids 10% above it (Sonnet 4.5+, Haiku 4.5)', () => {
    expect(priceOf('global.anthropic.claude-sonnet-4-6', 'bedrock')).toMatchObject({
      inputPerMTok: 3,
      outputPerMTok: 15,
    });
    expect(priceOf('us.anthropic.claude-sonnet-4-6', 'bedrock')).toMatchObject({
      inputPerMTok: 3.3,
      outputPerMTok: 16.5,
      cacheWritePerMTok: 4.125,
      cacheReadPerMTok: 0.33,
    });
    expect(priceOf('anthropic.claude-sonnet-4-6', 'bedrock')).toMatchObject({ inputPerMTok: 3.3 });
    expect(priceOf('global.anthropic.claude-haiku-4-5-20251001-v1:0', 'bedrock')).toMatchObject({
      inputPerMTok: 1,
      outputPerMTok: 5,
    });
    expect(priceOf('eu.anthropic.claude-haiku-4-5-20251001-v1:0', 'bedrock')).toMatchObject({
      inputPerMTok: 1.1,
      outputPerMTok: 5.5,
    });
    expect(priceOf('jp.anthropic.claude-sonnet-4-5-20250929-v1:0', 'bedrock')).toMatchObject({
      inputPerMTok: 3.3,
    });
  });

  it('gives Sonnet 4 one rate on every endpoint', () => {
    const ids = ['anthropic.claude-sonnet-4-20250514-v1:0', 'us.anthropic.claude-sonnet-4-20250514-v1:0'];
    for (const id of ids)
      expect(priceOf(id, 'bedrock')).toMatchObject({ inputPerMTok: 3, outputPerMTok: 15 });
    expect(priceOf('global.anthropic.claude-sonnet-4-20250514-v1:0', 'bedrock')).toEqual(
      priceOf(ids[0] ?? '', 'bedrock'),
    );
  });

  it('knows nothing it was not told: other models, long-context variants, ARNs, Anthropic ids on Bedrock and back', () => {
    expect(priceOf('us.anthropic.claude-sonnet-4-6:1m', 'bedrock')).toBeUndefined();
    expect(priceOf('anthropic.claude-sonnet-4-5-20250929-v2:0:18k', 'bedrock')).toBeUndefined();
    expect(priceOf('amazon.nova-pro-v1:0', 'bedrock')).toBeUndefined();
    expect(priceOf('anthropic.claude-opus-4-6-v1', 'bedrock')).toBeUndefined();
    expect(
      priceOf('arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-6', 'bedrock'),
    ).toBeUndefined();
    expect(priceOf('claude-sonnet-4-6', 'bedrock')).toBeUndefined();
    expect(priceOf('us.anthropic.claude-sonnet-4-6')).toBeUndefined();
  });

  it('costs a geographic call at its own rate', () => {
    const price = priceOf('us.anthropic.claude-haiku-4-5-20251001-v1:0', 'bedrock');
    if (!price) throw new Error('unpriced');
    expect(
      costMicros(price, {
        inputTokens: 10_000,
        outputTokens: 1_000,
        cacheReadInputTokens: 0,
        cacheCreationInputTokens: 0,
      }),
    ).toBe(16_500);
  });

  it('splits an id into its profile geography and foundation model', () => {
    expect(parseBedrockModelId('us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0')).toEqual({
      geography: 'us-gov',
      foundationModel: 'anthropic.claude-sonnet-4-5-20250929-v1:0',
    });
    expect(parseBedrockModelId('anthropic.claude-sonnet-4-6')).toEqual({
      foundationModel: 'anthropic.claude-sonnet-4-6',
    });
  });

  it('has every key a Bedrock foundation-model id of Anthropic', () => {
    for (const key of Object.keys(BEDROCK_PRICE_TABLE)) expect(key).toMatch(/^anthropic\.claude-/);
  });
});
