import { awsClientOptions, type Env } from '../../config.js';
import { onFirstUse } from './lazy.js';

/**
 * Secrets Manager, each secret read once per container (a failed read is
 * tried again on the next call); the adapter and its client are loaded and
 * built on the first read.
 */
export function secretReader(env: Env): (secretId: string) => Promise<string> {
  const options = awsClientOptions(env, 'AWS_ENDPOINT_URL_SECRETS_MANAGER');
  const read = onFirstUse(async () =>
    (await import('../../adapters/secret-reader.js')).createSecretReader(options),
  );
  return async (secretId) => (await read())(secretId);
}
