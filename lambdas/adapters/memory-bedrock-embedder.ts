import { BedrockRuntimeClient, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { TITAN_EMBED_V2 } from '../../state-machines/memory.js';
import { MemoryRequestError, MemoryUnavailableError } from '../core/memory/errors.js';
import type { Embedder } from '../core/memory/ports.js';
import { isAwsThrottle } from './aws-errors.js';

/** Titan V2 reads at most 50,000 characters (8,192 tokens) per text. */
const MAX_INPUT_CHARS = 50_000;
/** InvokeModel calls in flight at once: Titan embeds one text per call. */
const CONCURRENCY = 8;

export interface BedrockEmbedderOptions {
  region?: string;
  /** The Bedrock runtime endpoint (locally: the stand-in on the services server). */
  endpoint?: string;
  /** @default the SDK's credential chain (the function's role) */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** @default amazon.titan-embed-text-v2:0 */
  modelId?: string;
  /** @default 2 */
  maxAttempts?: number;
}

/**
 * Amazon Titan Text Embeddings V2 through Bedrock InvokeModel
 * (`{ inputText, dimensions, normalize: true }` → `{ embedding }`), signed
 * with the function's role. A throttle or 5xx becomes `MemoryUnavailableError`
 * (retryable), anything else `MemoryRequestError`.
 */
export function createBedrockEmbedder(options: BedrockEmbedderOptions = {}): Embedder {
  const client = new BedrockRuntimeClient({
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: options.maxAttempts ?? 2,
    // HTTP/1.1: the SDK's default for this client is HTTP/2 (for streaming), which InvokeModel does not need.
    requestHandler: new NodeHttpHandler({ requestTimeout: 30_000 }),
  });
  const modelId = options.modelId ?? TITAN_EMBED_V2;
  const embedOne = async (text: string, dimension: number): Promise<number[]> => {
    let body: Uint8Array;
    try {
      const out = await client.send(
        new InvokeModelCommand({
          modelId,
          contentType: 'application/json',
          accept: 'application/json',
          body: JSON.stringify({
            inputText: text.slice(0, MAX_INPUT_CHARS),
            dimensions: dimension,
            normalize: true,
          }),
        }),
      );
      body = out.body;
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      const message = `embedding with ${modelId} failed: ${(err as Error).message}`;
      if (
        isAwsThrottle(err) ||
        status === undefined ||
        status >= 500 ||
        (err as Error).name === 'ModelNotReadyException'
      )
        throw new MemoryUnavailableError(message, { cause: err });
      throw new MemoryRequestError(message, { cause: err });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(body));
    } catch (err) {
      throw new MemoryRequestError(`${modelId} answered something that is not JSON`, { cause: err });
    }
    const embedding =
      typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'embedding') : undefined;
    if (!Array.isArray(embedding) || !embedding.every((x) => typeof x === 'number'))
      throw new MemoryRequestError(`${modelId} answered without a numeric "embedding"`);
    return embedding;
  };
  return {
    async embed(texts, dimension) {
      const out: number[][] = new Array(texts.length);
      let next = 0;
      const worker = async () => {
        while (next < texts.length) {
          const i = next++;
          out[i] = await embedOne(texts[i] ?? '', dimension);
        }
      };
      await Promise.all(Array.from({ length: Math.min(CONCURRENCY, texts.length) }, worker));
      return out;
    },
  };
}
