import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** Read a secret once per container; the value never reaches a log. */
export function createSecretReader(options: {
  region?: string;
  endpoint?: string;
}): (secretId: string) => Promise<string> {
  const sm = new SecretsManagerClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  });
  const cache = new Map<string, Promise<string>>();
  return (secretId) => {
    let p = cache.get(secretId);
    if (!p) {
      p = sm.send(new GetSecretValueCommand({ SecretId: secretId })).then((out) => {
        if (!out.SecretString) throw new Error(`secret ${secretId} has no string value`);
        return out.SecretString;
      });
      p.catch(() => cache.delete(secretId));
      cache.set(secretId, p);
    }
    return p;
  };
}
