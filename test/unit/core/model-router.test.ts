import { describe, expect, it } from 'vitest';
import type { ModelClient, ModelRequest, ModelResponse } from '../../../lambdas/core/model.js';
import { routeModels } from '../../../lambdas/core/model-router.js';

const request = (provider?: ModelRequest['provider']): ModelRequest => ({
  model: 'm',
  system: '',
  messages: [{ role: 'user', content: 'hi' }],
  tools: [],
  maxTokens: 1,
  ...(provider ? { provider } : {}),
});

/** A client that answers with its own name, so the test sees which one served. */
const named = (name: string): ModelClient => ({
  call: async (): Promise<ModelResponse> => ({
    id: name,
    model: name,
    content: [],
    stopReason: 'end_turn',
    usage: { inputTokens: 0, outputTokens: 0, cacheReadInputTokens: 0, cacheCreationInputTokens: 0 },
  }),
});

describe('routeModels', () => {
  it('sends each request to its provider, building each client once (per Bedrock Region)', async () => {
    const built: string[] = [];
    const router = routeModels({
      anthropic: () => {
        built.push('anthropic');
        return named('anthropic');
      },
      bedrock: (region) => {
        built.push(`bedrock:${region ?? 'own'}`);
        return named(`bedrock:${region ?? 'own'}`);
      },
    });

    const served = [];
    for (const provider of [
      undefined,
      { kind: 'bedrock' as const },
      { kind: 'bedrock' as const, region: 'eu-west-1' },
      { kind: 'anthropic' as const },
      { kind: 'bedrock' as const },
      { kind: 'bedrock' as const, region: 'eu-west-1' },
    ])
      served.push((await router.call(request(provider))).id);

    expect(served).toEqual([
      'anthropic',
      'bedrock:own',
      'bedrock:eu-west-1',
      'anthropic',
      'bedrock:own',
      'bedrock:eu-west-1',
    ]);
    expect(built).toEqual(['anthropic', 'bedrock:own', 'bedrock:eu-west-1']);
  });

  it('never builds a provider no request names (a Bedrock-only stack never reads the Anthropic key)', async () => {
    const router = routeModels({
      anthropic: () => {
        throw new Error('the Anthropic key was read');
      },
      bedrock: () => named('bedrock'),
    });

    await expect(router.call(request({ kind: 'bedrock' }))).resolves.toMatchObject({ id: 'bedrock' });
  });

  it('tries a failed build again on the next call instead of keeping the failure', async () => {
    let attempts = 0;
    const router = routeModels({
      anthropic: async () => {
        attempts += 1;
        if (attempts === 1) throw new Error('secret not readable yet');
        return named('anthropic');
      },
      bedrock: () => named('bedrock'),
    });

    await expect(router.call(request())).rejects.toThrow('secret not readable yet');
    await expect(router.call(request())).resolves.toMatchObject({ id: 'anthropic' });
    await router.call(request());
    expect(attempts).toBe(2);
  });
});
