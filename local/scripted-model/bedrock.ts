/**
 * The scripted model's Amazon Bedrock face: InvokeModel for Claude
 * (`POST /model/{modelId}/invoke`), whose body is a Messages API request
 * without `model` (it is in the path) and with `anthropic_version`, whose
 * answer is the Messages API `message`, and whose errors are Bedrock's
 * (`x-amzn-ErrorType` naming the exception, `{"message": …}` as the body).
 * Requests must be SigV4-signed for the `bedrock` service; with credentials,
 * the signature itself is verified as the local AWS endpoints verify theirs.
 */
import type { IncomingMessage } from 'node:http';
import type { LocalCredentials } from '../aws/local-credentials.js';
import { verifySigV4 } from '../aws/sigv4-verify.js';
import { type ParsedBody, parseMessagesBody } from './request.js';

/** The `anthropic_version` InvokeModel accepts for Claude. */
export const BEDROCK_ANTHROPIC_VERSION = 'bedrock-2023-05-31';

const INVOKE = /^\/model\/([^/]+)\/(invoke|invoke-with-response-stream|converse|converse-stream)$/;

/** The model id and operation of a Bedrock runtime path, or undefined for any other path. */
export function parseBedrockPath(path: string): { modelId: string; operation: string } | undefined {
  const m = INVOKE.exec(path);
  if (!m?.[1] || !m[2]) return undefined;
  try {
    return { modelId: decodeURIComponent(m[1]), operation: m[2] };
  } catch {
    return undefined;
  }
}

/** Bedrock's exception name for an HTTP status (InvokeModel's documented errors). */
export function bedrockErrorNameFor(status: number): string {
  switch (status) {
    case 400:
      return 'ValidationException';
    case 403:
      return 'AccessDeniedException';
    case 404:
      return 'ResourceNotFoundException';
    case 408:
      return 'ModelTimeoutException';
    case 424:
      return 'ModelErrorException';
    case 429:
      return 'ThrottlingException';
    case 503:
      return 'ServiceUnavailableException';
    default:
      return status >= 500 ? 'InternalServerException' : 'ValidationException';
  }
}

/** The headers and body of a Bedrock error answer. */
export function bedrockError(
  status: number,
  message: string,
  requestId: string,
  name: string = bedrockErrorNameFor(status),
): { headers: Record<string, string>; body: string } {
  return {
    headers: {
      'x-amzn-errortype': `${name}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      'x-amzn-requestid': requestId,
    },
    body: JSON.stringify({ message }),
  };
}

/**
 * Parses an InvokeModel body as the Messages body the script reads (the path's
 * model id as `model`). Refused as Bedrock refuses them: a body naming `model`
 * or `stream` (InvokeModel takes neither) and any `anthropic_version` but
 * Bedrock's, which the Claude models on InvokeModel require.
 */
export function parseInvokeBody(raw: string, modelId: string): ParsedBody {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, message: 'Malformed input request: the body is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return { ok: false, message: 'Malformed input request: the body must be a JSON object' };
  for (const key of ['model', 'stream']) {
    if (key in value)
      return { ok: false, message: `Malformed input request: extraneous key [${key}] is not permitted` };
  }
  const version: unknown = Reflect.get(value, 'anthropic_version');
  if (version !== BEDROCK_ANTHROPIC_VERSION)
    return {
      ok: false,
      message: `Malformed input request: anthropic_version must be ${BEDROCK_ANTHROPIC_VERSION}, got ${JSON.stringify(version)}`,
    };
  return parseMessagesBody(JSON.stringify({ ...value, model: modelId }));
}

const SCOPE = /Credential=[^/,\s]+\/\d{8}\/([^/,\s]+)\/([^/,\s]+)\/aws4_request/;

/**
 * Why a request is not signed as Bedrock expects, or undefined when it is: a
 * SigV4 `Authorization` for the `bedrock` service, and, when `credentials` are
 * given, a signature that verifies with them.
 */
export function bedrockSignatureProblem(
  req: IncomingMessage,
  body: Buffer,
  credentials: LocalCredentials | undefined,
): { status: number; name: string; message: string } | undefined {
  const auth = req.headers.authorization;
  const scope = typeof auth === 'string' ? SCOPE.exec(auth) : null;
  if (!scope)
    return {
      status: 403,
      name: 'AccessDeniedException',
      message: 'scripted Bedrock: the request is not SigV4-signed (Authorization: AWS4-HMAC-SHA256 …)',
    };
  if (scope[2] !== 'bedrock')
    return {
      status: 403,
      name: 'InvalidSignatureException',
      message: `scripted Bedrock: signed for service "${scope[2]}", not "bedrock"`,
    };
  if (!credentials) return undefined;
  const refusal = verifySigV4(
    { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
    credentials,
  );
  return refusal ? { status: 403, name: refusal.code, message: refusal.message } : undefined;
}
