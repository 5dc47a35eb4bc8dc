import { createSecretReader } from '../../adapters/secret-reader.js';
import { awsClientOptions, type Env, lazily } from '../../config.js';

/**
 * Secrets Manager, each secret read once per container (a failed read is
 * tried again on the next call); the client is built on the first read.
 */
export function secretReader(env: Env): (secretId: string) => Promise<string> {
  const read = lazily(() => createSecretReader(awsClientOptions(env, 'AWS_ENDPOINT_URL_SECRETS_MANAGER')));
  return (secretId) => read()(secretId);
}
