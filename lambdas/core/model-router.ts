import type { ModelClient, ModelRoute } from './model.js';

/** Builds the client of one provider (and Region); called at most once per key while it succeeds. */
export interface ModelFactories {
  anthropic: () => Promise<ModelClient> | ModelClient;
  /** `region` is the agent's `provider.region`, or undefined for the function's own. */
  bedrock: (region: string | undefined) => Promise<ModelClient> | ModelClient;
}

/**
 * One `ModelClient` in front of every provider: each request goes to the
 * client of its `provider` (Anthropic when absent), built on first use and
 * kept for the container's life, so a Bedrock-only deployment never reads the
 * Anthropic key and each Region gets one client. A factory that fails (a
 * secret not readable yet) is tried again on the next call, not cached.
 */
export function routeModels(factories: ModelFactories): ModelClient {
  const clients = new Map<string, Promise<ModelClient>>();
  const clientFor = (route: ModelRoute): Promise<ModelClient> => {
    const key = route.kind === 'anthropic' ? 'anthropic' : `bedrock:${route.region ?? ''}`;
    const known = clients.get(key);
    if (known) return known;
    const built = Promise.resolve().then(() =>
      route.kind === 'anthropic' ? factories.anthropic() : factories.bedrock(route.region),
    );
    clients.set(key, built);
    built.catch(() => clients.delete(key));
    return built;
  };
  return {
    async call(request, options) {
      const client = await clientFor(request.provider ?? { kind: 'anthropic' });
      return client.call(request, options);
    },
  };
}
