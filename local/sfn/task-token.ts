/** What a task token identifies: an execution, the task attempt, and a random nonce. */
export interface TokenParts {
  execution: string;
  key: string;
  nonce: string;
}

/** Encodes a token as opaque base64url text. */
export function encodeToken(parts: TokenParts): string {
  return Buffer.from(JSON.stringify([parts.execution, parts.key, parts.nonce]), 'utf8').toString('base64url');
}

/** Decodes a token; undefined when it is not one this runtime could have issued. */
export function decodeToken(token: string): TokenParts | undefined {
  if (
    typeof token !== 'string' ||
    token.length === 0 ||
    token.length > 2048 ||
    !/^[A-Za-z0-9_-]+$/.test(token)
  )
    return undefined;
  try {
    const raw: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Array.isArray(raw) || raw.length !== 3 || !raw.every((p) => typeof p === 'string')) return undefined;
    const [execution, key, nonce] = raw as [string, string, string];
    return { execution, key, nonce };
  } catch {
    return undefined;
  }
}
