import { describe, expect, it } from 'vitest';
import {
  type AgentOptions,
  defineAgent,
  defineTool,
  WorkflowDefinitionError,
} from '../../../state-machines/index.js';

const echo = defineTool({
  name: 'echo',
  description: 'Echo.',
  input: { type: 'object', properties: {}, additionalProperties: false } as const,
  access: 'read',
  run: async () => ({}),
});

/** The definition error of a declaration, as a string (JavaScript callers can pass anything). */
function errorOf(options: unknown): string {
  try {
    defineAgent(options as AgentOptions);
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowDefinitionError);
    return String((err as Error).message);
  }
  throw new Error('defineAgent accepted it');
}

describe('an agent on Amazon Bedrock', () => {
  it('keeps the Bedrock id as its model and its provider with the region', () => {
    const agent = defineAgent({
      name: 'b',
      provider: {
        kind: 'bedrock',
        modelId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
        region: 'us-west-2',
      },
      system: 's',
      tools: [echo],
    });

    expect(agent.model).toBe('us.anthropic.claude-haiku-4-5-20251001-v1:0');
    expect(agent.provider).toEqual({
      kind: 'bedrock',
      modelId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0',
      region: 'us-west-2',
    });
  });

  it('defaults to the Anthropic API with today model field', () => {
    const agent = defineAgent({ name: 'a', model: 'claude-haiku-4-5', system: 's', tools: [echo] });

    expect(agent.provider).toEqual({ kind: 'anthropic' });
    expect(agent.model).toBe('claude-haiku-4-5');
  });

  it('names the agent and the field when the Bedrock model id is missing', () => {
    expect(errorOf({ name: 'nomodel', provider: { kind: 'bedrock' }, system: 's', tools: [echo] })).toBe(
      'agent "nomodel": provider.modelId is required for the Bedrock provider',
    );
    expect(
      errorOf({ name: 'empty', provider: { kind: 'bedrock', modelId: '' }, system: 's', tools: [echo] }),
    ).toMatch(/^agent "empty": provider\.modelId is required/);
  });

  it('names the model missing from the price table, on either provider', () => {
    expect(
      errorOf({
        name: 'nova',
        provider: { kind: 'bedrock', modelId: 'amazon.nova-pro-v1:0' },
        system: 's',
        tools: [echo],
      }),
    ).toBe(
      'agent "nova": provider.modelId "amazon.nova-pro-v1:0" is not in the Bedrock price table (lambdas/core/pricing.ts): budgets need a price',
    );
    expect(errorOf({ name: 'gpt', model: 'gpt-4o', system: 's', tools: [echo] })).toBe(
      'agent "gpt": model "gpt-4o" is not in the Anthropic price table (lambdas/core/pricing.ts): budgets need a price',
    );
    expect(errorOf({ name: 'none', system: 's', tools: [echo] })).toBe(
      'agent "none": model is required for the Anthropic provider',
    );
  });

  it('refuses ARNs, a model beside a Bedrock provider, unknown kinds and bad regions, naming the field', () => {
    const arn = 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-6';
    expect(
      errorOf({ name: 'arn', provider: { kind: 'bedrock', modelId: arn }, system: 's', tools: [echo] }),
    ).toMatch(
      /^agent "arn": provider\.modelId ".*" is not a Bedrock model or inference profile id .*ARNs are not accepted/,
    );
    expect(
      errorOf({
        name: 'both',
        model: 'claude-haiku-4-5',
        provider: { kind: 'bedrock', modelId: 'anthropic.claude-sonnet-4-6' },
        system: 's',
        tools: [echo],
      }),
    ).toMatch(/^agent "both": model "claude-haiku-4-5" is set next to a Bedrock provider/);
    expect(
      errorOf({ name: 'vertex', model: 'x', provider: { kind: 'vertex' }, system: 's', tools: [echo] }),
    ).toBe(`agent "vertex": provider.kind must be 'anthropic' or 'bedrock', got "vertex"`);
    expect(
      errorOf({
        name: 'where',
        provider: { kind: 'bedrock', modelId: 'anthropic.claude-sonnet-4-6', region: 'mars' },
        system: 's',
        tools: [echo],
      }),
    ).toBe('agent "where": provider.region must be an AWS Region like us-east-1, got "mars"');
  });
});
