import { afterEach, describe, expect, it, vi } from 'vitest';
import { CONTEXT_TABLE, contextOf, FALLBACK_CONTEXT_TOKENS } from '../../../lambdas/core/model-context.js';
import { BEDROCK_PRICE_TABLE, PRICE_TABLE } from '../../../lambdas/core/pricing.js';
import { defineAgent, WorkflowDefinitionError } from '../../../state-machines/index.js';

// defineAgent reads the context through contextOf: a test may swap the table it reads, to show
// the window's default follows the model's context rather than a constant.
const swapped = vi.hoisted(() => ({ table: undefined as Record<string, number> | undefined }));
vi.mock(import('../../../lambdas/core/model-context.js'), async (importOriginal) => {
  const actual = await importOriginal();
  return {
    ...actual,
    contextOf: (model: string, provider?: 'anthropic' | 'bedrock', table?: Record<string, number>) =>
      actual.contextOf(model, provider, table ?? swapped.table ?? actual.CONTEXT_TABLE),
  };
});
afterEach(() => {
  swapped.table = undefined;
});

const haiku = (window?: { maxTokens?: number; keepTurns?: number }, maxTokens?: number) =>
  defineAgent({
    name: 'reader',
    model: 'claude-haiku-4-5',
    system: 'You read.',
    tools: [],
    ...(maxTokens ? { maxTokens } : {}),
    ...(window ? { window } : {}),
  });

describe('the model context table', () => {
  it('knows the context of every model in the price tables, dated ids and Bedrock profiles included', () => {
    for (const model of Object.keys(PRICE_TABLE))
      expect(contextOf(`${model}-20250101`), model).toEqual({ tokens: 200_000, from: 'table' });
    for (const id of Object.keys(BEDROCK_PRICE_TABLE))
      for (const profile of [id, `us.${id}-v1:0`, `global.${id}-v1:0`])
        expect(contextOf(profile, 'bedrock'), profile).toEqual({ tokens: 200_000, from: 'table' });
  });

  it('matches the longest key, and assumes the smallest context it knows for a model it does not', () => {
    const table = { 'claude-x-4': 100_000, 'claude-x-4-5': 1_000_000 };
    expect(contextOf('claude-x-4-5-20260101', 'anthropic', table)).toEqual({
      tokens: 1_000_000,
      from: 'table',
    });
    expect(contextOf('claude-x-4-20250101', 'anthropic', table)).toEqual({ tokens: 100_000, from: 'table' });
    expect(contextOf('eu.anthropic.claude-x-4-5-v1:0', 'bedrock', table).tokens).toBe(1_000_000);
    expect(contextOf('gpt-9', 'anthropic', table)).toEqual({ tokens: 100_000, from: 'fallback' });
    expect(contextOf('gpt-9')).toEqual({ tokens: FALLBACK_CONTEXT_TOKENS, from: 'fallback' });
    expect(FALLBACK_CONTEXT_TOKENS).toBe(Math.min(...Object.values(CONTEXT_TABLE)));
  });
});

describe('the conversation window of an agent', () => {
  it('defaults its threshold to half the model’s context and keeps 4 turns', () => {
    expect(haiku().window).toEqual({ maxTokens: 100_000, keepTurns: 4, contextTokens: 200_000 });
    const bedrock = defineAgent({
      name: 'b',
      provider: { kind: 'bedrock', modelId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0' },
      system: 's',
      tools: [],
    });
    expect(bedrock.window.maxTokens).toBe(100_000);
  });

  it('follows the model’s context: a 64,000-token model gets 32,000, and a threshold past its room is refused', () => {
    swapped.table = { 'claude-haiku-4-5': 64_000, 'claude-sonnet-4': 1_000_000 };
    expect(haiku().window).toEqual({ maxTokens: 32_000, keepTurns: 4, contextTokens: 64_000 });
    expect(haiku({ maxTokens: 62_976 }).window.maxTokens).toBe(62_976);
    expect(() => haiku({ maxTokens: 62_977 })).toThrow(
      /window\.maxTokens must be an integer in \[2000, 62976\] \(the 64000-token context of claude-haiku-4-5 less maxTokens 1024 for the output\), got 62977/,
    );
    expect(() => haiku({ maxTokens: 60_000 }, 8_000)).toThrow(WorkflowDefinitionError);
  });

  it('says when the context was assumed, and refuses a bad keepTurns', () => {
    swapped.table = { 'claude-opus-4': 150_000 };
    expect(haiku().window.maxTokens).toBe(75_000);
    expect(() => haiku({ maxTokens: 160_000 })).toThrow(
      /the 150000-token context of claude-haiku-4-5, assumed: the model is not in lambdas\/core\/model-context\.ts/,
    );
    expect(() => haiku({ maxTokens: 1_000 })).toThrow(/window\.maxTokens .* got 1000/);
    expect(() => haiku({ keepTurns: 0 })).toThrow(/window\.keepTurns must be an integer in \[1, 50\], got 0/);
  });
});
