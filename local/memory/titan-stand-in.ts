/**
 * The local stand-in for Amazon Titan Text Embeddings V2 on Bedrock
 * InvokeModel (`POST /model/amazon.titan-embed-text-v2:0/invoke`): Titan's
 * request body (`inputText`, `dimensions` 256/512/1024, `normalize`) and
 * answer (`embedding`, `inputTextTokenCount`), Bedrock's error shape. The
 * vectors are the lexical embedding (`lexical-embedder.ts`), not Titan's.
 */
import { EMBEDDING_DIMENSIONS, TITAN_EMBED_V2 } from '../../state-machines/memory.js';
import { lexicalEmbedding } from './lexical-embedder.js';

/** Whether a request path is InvokeModel of the embeddings model. */
export function isTitanEmbedPath(path: string): boolean {
  return (
    path === `/model/${encodeURIComponent(TITAN_EMBED_V2)}/invoke` ||
    path === `/model/${TITAN_EMBED_V2}/invoke`
  );
}

/** The status, headers and body of the answer to one embeddings request. */
export function answerTitanEmbed(body: string): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const fail = (message: string) => ({
    status: 400,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': 'ValidationException' },
    body: JSON.stringify({ message }),
  });
  let req: unknown;
  try {
    req = JSON.parse(body);
  } catch {
    return fail('Malformed input request, please reformat your input and try again.');
  }
  if (typeof req !== 'object' || req === null) return fail('Malformed input request: expected a JSON object');
  const inputText: unknown = Reflect.get(req, 'inputText');
  const dimensions: unknown = Reflect.get(req, 'dimensions') ?? 1024;
  const normalize: unknown = Reflect.get(req, 'normalize') ?? true;
  if (typeof inputText !== 'string' || inputText.length === 0)
    return fail('Malformed input request: #: required key [inputText] not found or empty');
  if (inputText.length > 50_000)
    return fail('Malformed input request: #/inputText: expected maxLength: 50000');
  if (typeof dimensions !== 'number' || !(EMBEDDING_DIMENSIONS as readonly number[]).includes(dimensions))
    return fail(`Malformed input request: #/dimensions: ${String(dimensions)} is not a valid enum value`);
  if (typeof normalize !== 'boolean')
    return fail('Malformed input request: #/normalize: expected type: Boolean');
  const embedding = lexicalEmbedding(inputText, dimensions);
  return {
    status: 200,
    headers: {
      'content-type': 'application/json',
      'x-amzn-bedrock-input-token-count': String(tokenCount(inputText)),
    },
    body: JSON.stringify({ embedding, inputTextTokenCount: tokenCount(inputText) }),
  };
}

const tokenCount = (text: string) => Math.max(1, Math.ceil(text.length / 4));
