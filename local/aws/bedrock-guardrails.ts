/**
 * A local stand-in for Amazon Bedrock Guardrails' `ApplyGuardrail`
 * (`POST /guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply`,
 * REST-JSON on the Bedrock Runtime endpoint), so the adapter runs through the
 * real `@aws-sdk/client-bedrock-runtime`. It is served by the scripted model's
 * server, which is where `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` points locally, and
 * shares its SigV4 check.
 *
 * It reproduces the API's shapes and rules — the prompt-attack filter judges
 * only `guard_content` text of an `INPUT` source; an unknown guardrail or
 * version is a 404 `ResourceNotFoundException`; a malformed body a 400
 * `ValidationException`; `usage.contentPolicyUnits` counts one unit per 1,000
 * characters — but not Bedrock's model: its confidence comes from `detect`,
 * which tests script. The default detector knows a handful of English
 * jailbreak phrases and nothing else: figures measured against it say nothing
 * about Bedrock's own detection.
 */

export type Confidence = 'NONE' | 'LOW' | 'MEDIUM' | 'HIGH';

/** One guardrail the stand-in knows. */
export interface LocalGuardrail {
  /** Versions it answers for (`DRAFT` is always known). @default ['DRAFT', '1'] */
  versions?: string[];
  /** The prompt-attack filter's input strength: confidence at or above it blocks. @default 'HIGH' */
  promptAttackStrength?: Exclude<Confidence, 'NONE'>;
}

/** What one `ApplyGuardrail` call was asked. */
export interface GuardrailCall {
  guardrailId: string;
  version: string;
  source: string;
  texts: string[];
}

const ORDER: Confidence[] = ['NONE', 'LOW', 'MEDIUM', 'HIGH'];
const PATH = /^\/guardrail\/([^/]+)\/version\/([^/]+)\/apply$/;
const DEFAULT_PHRASES =
  /\b(ignore|disregard)\s+(all\s+)?(previous|prior)\s+instructions\b|\bsystem\s+prompt\b|\bdeveloper\s+mode\b|\bjailbreak\b/i;

/** The stand-in's state: its guardrails, its detector, and every call it answered. */
export class LocalGuardrails {
  private readonly guardrails = new Map<string, LocalGuardrail>();
  /** The confidence that a text is a prompt attack. Replace it to script verdicts. */
  detect: (text: string) => Confidence = (text) => (DEFAULT_PHRASES.test(text) ? 'HIGH' : 'NONE');
  /** Calls answered, in order. */
  readonly calls: GuardrailCall[] = [];

  /** Register a guardrail by id (the 12-character id; its ARN is accepted too). */
  define(id: string, guardrail: LocalGuardrail = {}): void {
    this.guardrails.set(id, guardrail);
  }

  /** Whether a path is this API's. */
  static handles(path: string): boolean {
    return PATH.test(path);
  }

  /** Answer one request (already signature-checked): status, headers and JSON body. */
  answer(
    path: string,
    raw: string,
    requestId: string,
  ): { status: number; headers: Record<string, string>; body: string } {
    const m = PATH.exec(path);
    const error = (status: number, name: string, message: string) => ({
      status,
      headers: {
        'x-amzn-errortype': `${name}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
        'x-amzn-requestid': requestId,
      },
      body: JSON.stringify({ message }),
    });
    if (!m?.[1] || !m[2]) return error(404, 'ResourceNotFoundException', `no such operation ${path}`);
    const identifier = decodeURIComponent(m[1]);
    const version = decodeURIComponent(m[2]);
    const id = identifier.includes('/') ? (identifier.split('/').at(-1) ?? identifier) : identifier;
    const guardrail = this.guardrails.get(id) ?? this.guardrails.get(identifier);
    if (!guardrail)
      return error(404, 'ResourceNotFoundException', `The guardrail ${identifier} was not found.`);
    if (version !== 'DRAFT' && !(guardrail.versions ?? ['DRAFT', '1']).includes(version))
      return error(
        404,
        'ResourceNotFoundException',
        `Version ${version} of guardrail ${identifier} was not found.`,
      );
    let body: { source?: unknown; content?: unknown };
    try {
      body = JSON.parse(raw) as typeof body;
    } catch {
      return error(400, 'ValidationException', 'The request body is not valid JSON.');
    }
    if (body.source !== 'INPUT' && body.source !== 'OUTPUT')
      return error(400, 'ValidationException', "source must be 'INPUT' or 'OUTPUT'.");
    if (!Array.isArray(body.content) || body.content.length === 0)
      return error(400, 'ValidationException', 'content must be a non-empty list of content blocks.');
    const blocks: Array<{ text: string; guarded: boolean }> = [];
    for (const block of body.content as unknown[]) {
      const text = (block as { text?: { text?: unknown; qualifiers?: unknown } }).text;
      if (typeof text?.text !== 'string')
        return error(400, 'ValidationException', 'each content block needs text.text (a string).');
      const qualifiers = Array.isArray(text.qualifiers) ? text.qualifiers : [];
      blocks.push({ text: text.text, guarded: qualifiers.includes('guard_content') });
    }
    this.calls.push({ guardrailId: id, version, source: body.source, texts: blocks.map((b) => b.text) });
    const judged =
      body.source === 'INPUT'
        ? blocks
            .filter((b) => b.guarded)
            .map((b) => b.text)
            .join('\n')
        : '';
    const confidence = judged ? this.detect(judged) : 'NONE';
    const strength = guardrail.promptAttackStrength ?? 'HIGH';
    const blocked = ORDER.indexOf(confidence) >= ORDER.indexOf(strength) && confidence !== 'NONE';
    const units = blocks.reduce((n, b) => n + Math.max(1, Math.ceil(b.text.length / 1000)), 0);
    return {
      status: 200,
      headers: { 'x-amzn-requestid': requestId },
      body: JSON.stringify({
        action: blocked ? 'GUARDRAIL_INTERVENED' : 'NONE',
        ...(blocked ? { actionReason: 'Guardrail blocked.' } : {}),
        outputs: blocked ? [{ text: 'Sorry, the model cannot answer this question.' }] : [],
        assessments: [
          {
            contentPolicy: {
              filters:
                confidence === 'NONE'
                  ? []
                  : [
                      {
                        type: 'PROMPT_ATTACK',
                        confidence,
                        filterStrength: strength,
                        action: blocked ? 'BLOCKED' : 'NONE',
                        detected: blocked,
                      },
                    ],
            },
          },
        ],
        usage: {
          topicPolicyUnits: 0,
          contentPolicyUnits: units,
          wordPolicyUnits: 0,
          sensitiveInformationPolicyUnits: 0,
          sensitiveInformationPolicyFreeUnits: 0,
          contextualGroundingPolicyUnits: 0,
        },
      }),
    };
  }
}
