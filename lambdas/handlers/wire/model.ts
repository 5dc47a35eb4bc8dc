import { type Env, required } from '../../config.js';
import type { ModelClient } from '../../core/model.js';
import { routeModels } from '../../core/model-router.js';

/**
 * The model client: one per provider, each built on first use and kept for the
 * container's life (`routeModels`); each provider's SDK is loaded only then,
 * so a cold start evaluates neither. Anthropic: the API key comes from
 * `ANTHROPIC_API_KEY` (local) or the Secrets Manager secret
 * `ANTHROPIC_SECRET_ARN` (AWS), read only when an Anthropic agent first calls.
 * Bedrock: signed with the function's role, in the agent's `provider.region` or
 * `AWS_REGION`, at `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` when set (the scripted
 * model locally). SDK retries and timeout are set explicitly and stay below the
 * Lambda timeout.
 */
export function modelClient(env: Env, readSecret: (id: string) => Promise<string>): ModelClient {
  const maxRetries = Number(env.CHAPERONE_MODEL_MAX_RETRIES ?? 2);
  const timeout = Number(env.CHAPERONE_MODEL_TIMEOUT_MS ?? 60_000);
  return routeModels({
    anthropic: async () => {
      const apiKey = env.ANTHROPIC_API_KEY ?? (await readSecret(required(env, 'ANTHROPIC_SECRET_ARN')));
      const { createAnthropicModel } = await import('../../adapters/anthropic-model.js');
      return createAnthropicModel({
        apiKey,
        ...(env.ANTHROPIC_BASE_URL ? { baseURL: env.ANTHROPIC_BASE_URL } : {}),
        maxRetries,
        timeout,
      });
    },
    bedrock: async (region) => {
      const resolved = region ?? required(env, 'AWS_REGION');
      const { createBedrockModel } = await import('../../adapters/bedrock-model.js');
      return createBedrockModel({
        region: resolved,
        ...(env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME ? { baseURL: env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME } : {}),
        maxRetries,
        timeout,
      });
    },
  });
}
