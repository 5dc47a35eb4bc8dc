/**
 * The AWS credential chain of a deployed function, in place of
 * `@aws-sdk/credential-provider-node` (the SDK's default Node chain): the
 * bundles alias that package to this module (`HANDLER_BUNDLING.alias` in
 * `infra/constructs/handler-entries.ts`), so every SDK client a handler builds
 * without explicit credentials resolves them here.
 *
 * Lambda hands a function its role's credentials in environment variables
 * (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), which is
 * the first link of the default chain and the one it always takes there; the
 * other links (shared ini files, SSO, `credential_process`, web identity, the
 * EC2 instance metadata service, and the STS/SSO clients they carry) never
 * apply in Lambda and were ~90 KB of every bundle. The container endpoint
 * (`AWS_CONTAINER_CREDENTIALS_FULL_URI` or `_RELATIVE_URI`, with an optional
 * authorization token) is kept as the second link: a few lines, and what a
 * runtime that serves credentials over HTTP uses instead. Nothing else is
 * consulted: with neither set, the first request fails with a named
 * `CredentialsProviderError` saying so. The local runtime and the tests run the
 * sources, not the bundles, so they keep the SDK's own chain.
 *
 * It also stands in for `@aws-sdk/credential-providers` (the Bedrock model
 * SDK's resolver imports `createCredentialChain`, `fromEnv` and
 * `fromNodeProviderChain` from it, which in the real package brings every
 * provider with it): the same three, over the same two links.
 */

/** The credentials shape the SDK's signers take. */
export interface EnvCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
  readonly accountId?: string;
}

/** The SDK's name for "no credentials from this provider", kept so its callers recognise it. */
export class CredentialsProviderError extends Error {
  override readonly name = 'CredentialsProviderError';
  /** Whether a chain should try its next provider (the SDK's convention). */
  readonly tryNextLink: boolean;
  constructor(message: string, options: { tryNextLink?: boolean } = {}) {
    super(message);
    this.tryNextLink = options.tryNextLink ?? false;
  }
}

type Provider = () => Promise<EnvCredentials>;

const CONTAINER_HOST = 'http://169.254.170.2';

/**
 * The hosts a plain-HTTP full URI may name, as the SDK's own container
 * provider allows: loopback and the ECS/EKS link-local endpoints. Anything
 * else must be HTTPS, so the authorization token never travels in clear to a
 * host a stray environment variable names.
 */
const PLAIN_HTTP_HOSTS = new Set([
  'localhost',
  '127.0.0.1',
  '[::1]',
  '169.254.170.2',
  '169.254.170.23',
  '[fd00:ec2::23]',
]);

function containerUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CredentialsProviderError(`AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL: ${raw}`);
  }
  const loopback = url.hostname.startsWith('127.') || PLAIN_HTTP_HOSTS.has(url.hostname);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return url.href;
  throw new CredentialsProviderError(
    `AWS_CONTAINER_CREDENTIALS_FULL_URI ${url.protocol}//${url.host} is refused: plain HTTP only to loopback or the container endpoints, HTTPS otherwise`,
  );
}

function fromEnvironment(env: NodeJS.ProcessEnv): EnvCredentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    ...(env.AWS_CREDENTIAL_EXPIRATION ? { expiration: new Date(env.AWS_CREDENTIAL_EXPIRATION) } : {}),
    ...(env.AWS_ACCOUNT_ID ? { accountId: env.AWS_ACCOUNT_ID } : {}),
  };
}

async function fromContainer(env: NodeJS.ProcessEnv): Promise<EnvCredentials | undefined> {
  const url = env.AWS_CONTAINER_CREDENTIALS_FULL_URI
    ? containerUrl(env.AWS_CONTAINER_CREDENTIALS_FULL_URI)
    : env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
      ? `${CONTAINER_HOST}${env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI}`
      : undefined;
  if (!url) return undefined;
  let token = env.AWS_CONTAINER_AUTHORIZATION_TOKEN;
  if (env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE) {
    const { readFile } = await import('node:fs/promises');
    token = (await readFile(env.AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, 'utf8')).trim();
  }
  const response = await fetch(url, {
    ...(token ? { headers: { Authorization: token } } : {}),
    signal: AbortSignal.timeout(1000),
  });
  if (!response.ok)
    throw new CredentialsProviderError(
      `The container credentials endpoint ${url} answered HTTP ${response.status}`,
    );
  const body = (await response.json()) as Record<string, string | undefined>;
  if (!body.AccessKeyId || !body.SecretAccessKey)
    throw new CredentialsProviderError(
      `The container credentials endpoint ${url} answered without AccessKeyId/SecretAccessKey`,
    );
  return {
    accessKeyId: body.AccessKeyId,
    secretAccessKey: body.SecretAccessKey,
    ...(body.Token ? { sessionToken: body.Token } : {}),
    ...(body.Expiration ? { expiration: new Date(body.Expiration) } : {}),
    ...(body.AccountId ? { accountId: body.AccountId } : {}),
  };
}

/**
 * The chain: environment variables, then the container endpoint. Same
 * signature as the SDK's `defaultProvider(init)` (its options — profile,
 * logger, role assumers — concern links this chain does not have).
 */
export const defaultProvider =
  (_init: unknown = {}) =>
  async (): Promise<EnvCredentials> => {
    const credentials = fromEnvironment(process.env) ?? (await fromContainer(process.env));
    if (credentials) return credentials;
    throw new CredentialsProviderError(
      'No AWS credentials: neither AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY nor AWS_CONTAINER_CREDENTIALS_FULL_URI/_RELATIVE_URI is set (a bundled function reads only these; Lambda sets the first)',
    );
  };

/** As the SDK's: credentials with an expiration are refreshed by its identity cache. */
export const credentialsWillNeedRefresh = (credentials: EnvCredentials): boolean =>
  credentials.expiration !== undefined;

/** As the SDK's: credentials expire five minutes before their stated expiration. */
export const credentialsTreatedAsExpired = (credentials: EnvCredentials): boolean =>
  credentials.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300_000;

/** The environment variables alone; a chain moves on when they are not set. */
export const fromEnv =
  (_init: unknown = {}): Provider =>
  async () => {
    const credentials = fromEnvironment(process.env);
    if (credentials) return credentials;
    throw new CredentialsProviderError('AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set', {
      tryNextLink: true,
    });
  };

/** As `@aws-sdk/credential-providers`' name for the default chain: {@link defaultProvider}. */
export const fromNodeProviderChain = (init: unknown = {}): Provider => defaultProvider(init);

/** The providers in order, moving on after an error that says to (`tryNextLink`), as the SDK's. */
export const createCredentialChain =
  (...providers: Provider[]): Provider =>
  async () => {
    let last: unknown = new CredentialsProviderError('No providers in chain');
    for (const provider of providers) {
      try {
        return await provider();
      } catch (err) {
        last = err;
        if (!(err as { tryNextLink?: boolean } | undefined)?.tryNextLink) throw err;
      }
    }
    throw last;
  };
