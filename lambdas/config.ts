import { ulid } from 'ulid';
import { ConfigError } from './config-error.js';
import { pooledPrng } from './core/id-random.js';

/**
 * A handler's environment, read once at cold start.
 *
 * This module reads the environment and nothing else: it imports no adapter
 * and no SDK. Each handler imports the wiring of exactly the ports it uses
 * (`lambdas/handlers/wire/`), so its bundle carries only those clients.
 */
export type Env = Record<string, string | undefined>;

export { ConfigError } from './config-error.js';

export function required(env: Env, name: string): string {
  const v = env[name];
  if (!v) throw new ConfigError(`environment variable ${name} is required`);
  return v;
}

/** A variable holding a JSON object of strings (`what` says what it maps, for the error). */
export function jsonObjectEnv(env: Env, name: string, what: string): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(required(env, name));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${name} must be a JSON object of ${what}: ${(err as Error).message}`);
  }
  if (
    typeof value !== 'object' ||
    value === null ||
    Array.isArray(value) ||
    !Object.values(value).every((v) => typeof v === 'string')
  )
    throw new ConfigError(`${name} must be a JSON object of ${what}, got ${JSON.stringify(value)}`);
  return value as Record<string, string>;
}

/**
 * Region and endpoint of an AWS SDK client: `AWS_REGION`, and the SDK's own
 * per-service endpoint variable (`AWS_ENDPOINT_URL_SNS`, …) when set (the
 * local runtime points every client at loopback).
 */
export function awsClientOptions(env: Env, endpointVar: string): { region?: string; endpoint?: string } {
  const endpoint = env[endpointVar];
  return {
    ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
    ...(endpoint ? { endpoint } : {}),
  };
}

/**
 * A value built on first use and kept for the container's life: SDK clients
 * a handler may not need on every path. A build that throws is tried again
 * on the next use.
 */
export function lazily<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}

const idPrng = pooledPrng();

export const newId = (): string => ulid(undefined, idPrng);
