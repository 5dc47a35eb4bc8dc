/**
 * Amazon Bedrock Guardrails for the classifier tier: core's
 * `PromptAttackFilter` over `ApplyGuardrail` (`@aws-sdk/client-bedrock-runtime`,
 * SigV4 with the function's role). Each text is sent as `guard_content` with
 * source `INPUT`, so the guardrail's prompt-attack filter judges it (Bedrock
 * applies that filter to input tagged as user content only). One client per
 * Region, built on first use. Any failure becomes `ClassifierUnavailableError`
 * (an abort by the tier's timeout is the tier's own `ClassifierTimeoutError`).
 */
import type { ApplyGuardrailCommandOutput, BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';
import type { PromptAttackFilter } from '../core/guardrails/classifier-tier.js';
import { ClassifierUnavailableError } from '../core/guardrails/errors.js';

/** Options of {@link createBedrockGuardrails}; read once at cold start by the handler. */
export interface BedrockGuardrailsOptions {
  /** The function's Region, used when a workflow names none. */
  region: string;
  /** Endpoint override (the local stand-in). @default Bedrock Runtime in the Region */
  endpoint?: string;
  /** SDK attempts per call. @default 2 */
  maxAttempts?: number;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export function createBedrockGuardrails(options: BedrockGuardrailsOptions): PromptAttackFilter {
  const clients = new Map<string, BedrockRuntimeClient>();
  // Loaded on first use: a function whose workflows never ask Bedrock Guardrails never pays for the import.
  const sdk = () => import('@aws-sdk/client-bedrock-runtime');
  const clientFor = async (region: string) => {
    const { BedrockRuntimeClient } = await sdk();
    let client = clients.get(region);
    if (!client) {
      const { NodeHttpHandler } = await import('@smithy/node-http-handler');
      client = new BedrockRuntimeClient({
        region,
        // HTTP/1.1: the client defaults to HTTP/2 (for bidirectional model streams), which
        // ApplyGuardrail does not need and the local stand-in does not speak.
        requestHandler: new NodeHttpHandler({ connectionTimeout: 3_000 }),
        maxAttempts: options.maxAttempts ?? 2,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
      });
      clients.set(region, client);
    }
    return client;
  };
  return {
    async apply(request, { signal }) {
      let out: ApplyGuardrailCommandOutput;
      try {
        const client = await clientFor(request.region ?? options.region);
        const { ApplyGuardrailCommand } = await sdk();
        out = await client.send(
          new ApplyGuardrailCommand({
            guardrailIdentifier: request.guardrailId,
            guardrailVersion: request.guardrailVersion,
            source: 'INPUT',
            content: [{ text: { text: request.text, qualifiers: ['guard_content'] } }],
          }),
          { abortSignal: signal },
        );
      } catch (err) {
        const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
        throw new ClassifierUnavailableError(
          `ApplyGuardrail failed: ${e.name ?? 'Error'}${e.$metadata?.httpStatusCode ? ` (${e.$metadata.httpStatusCode})` : ''}: ${e.message ?? String(err)}`,
          { cause: err },
        );
      }
      const filters = (out.assessments ?? []).flatMap((a) =>
        (a.contentPolicy?.filters ?? []).map((f) => ({
          type: f.type ?? 'UNKNOWN',
          confidence: f.confidence ?? 'NONE',
          action: f.action ?? 'NONE',
        })),
      );
      return {
        intervened: out.action === 'GUARDRAIL_INTERVENED',
        filters,
        textUnits: out.usage?.contentPolicyUnits ?? Math.max(1, Math.ceil(request.text.length / 1000)),
      };
    },
  };
}

/**
 * The handler's wiring from its environment: the client (at
 * `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` when set) and the stack's own guardrail
 * (`CHAPERONE_GUARDRAIL_ID`, `CHAPERONE_GUARDRAIL_VERSION`, set by the construct).
 */
export function bedrockGuardrailsFromEnv(env: Readonly<Record<string, string | undefined>>): {
  guardrails?: PromptAttackFilter;
  defaultGuardrail?: { id: string; version: string };
} {
  const region = env.AWS_REGION;
  if (!region) return {};
  const id = env.CHAPERONE_GUARDRAIL_ID;
  return {
    guardrails: createBedrockGuardrails({
      region,
      ...(env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME ? { endpoint: env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME } : {}),
    }),
    ...(id ? { defaultGuardrail: { id, version: env.CHAPERONE_GUARDRAIL_VERSION ?? 'DRAFT' } } : {}),
  };
}
