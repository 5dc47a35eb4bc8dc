import { priceOf } from '../lambdas/core/pricing.js';
import { WorkflowDefinitionError } from './errors.js';

/**
 * The classifier tier behind the heuristics: Amazon Bedrock Guardrails
 * (`ApplyGuardrail` with the prompt-attack filter), or a small model asked
 * through the same model port as the agents, with a strict output schema.
 */
export type ClassifierOptions =
  | {
      kind: 'bedrock-guardrails';
      /**
       * The guardrail's id or ARN.
       * @default the guardrail the Chaperone construct creates (prompt-attack filter, HIGH)
       */
      guardrailId?: string;
      /** @default the version the construct publishes; 'DRAFT' with an explicit `guardrailId` */
      guardrailVersion?: string;
      /** @default the function's Region */
      region?: string;
    }
  | {
      kind: 'model-judge';
      /** An Anthropic model id in the price table, or a Bedrock id with `provider: 'bedrock'`. @default 'claude-haiku-4-5' */
      model?: string;
      /** @default 'anthropic' */
      provider?: 'anthropic' | 'bedrock';
      /** @default 512 */
      maxTokens?: number;
    };

/** A workflow's `guardrails` option. */
export interface GuardrailOptions {
  /** Judges everything new (the prompt, each tool result) before every model call. @default none: heuristics only */
  classifier?: ClassifierOptions;
  /**
   * What a classifier that fails means — it timed out, errored or answered
   * outside its schema: `closed` treats the text as an injection, `open` lets
   * it pass; either way the trail records a `classifier_error` event.
   * @default 'closed' for agent steps with a tool above `read`, 'open' otherwise
   */
  onClassifierError?: 'closed' | 'open';
  /** @default 10000 */
  classifierTimeoutMs?: number;
}

/** The settings as the runtime sees them, defaults applied. */
export interface GuardrailSettings {
  classifier:
    | { kind: 'bedrock-guardrails'; guardrailId?: string; guardrailVersion?: string; region?: string }
    | { kind: 'model-judge'; model: string; provider: 'anthropic' | 'bedrock'; maxTokens: number }
    | undefined;
  onClassifierError: 'closed' | 'open' | undefined;
  classifierTimeoutMs: number;
}

/** Check a workflow's `guardrails` option; a definition error names the field. */
export function checkGuardrails(subject: string, options: GuardrailOptions | undefined): GuardrailSettings {
  const o = options ?? {};
  const fail = (field: string, message: string) =>
    new WorkflowDefinitionError(subject, `guardrails.${field} ${message}`);
  if (o.onClassifierError !== undefined && o.onClassifierError !== 'closed' && o.onClassifierError !== 'open')
    throw fail('onClassifierError', `must be 'closed' or 'open', got ${JSON.stringify(o.onClassifierError)}`);
  const timeout = o.classifierTimeoutMs ?? 10_000;
  if (!Number.isInteger(timeout) || timeout < 100 || timeout > 60_000)
    throw fail('classifierTimeoutMs', `must be an integer in [100, 60000], got ${timeout}`);
  const c = o.classifier;
  let classifier: GuardrailSettings['classifier'];
  if (c === undefined) classifier = undefined;
  else if (c.kind === 'bedrock-guardrails') {
    if (c.guardrailId !== undefined && !/^[a-z0-9]{12}$|^arn:aws[a-z-]*:bedrock:/.test(c.guardrailId))
      throw fail(
        'classifier.guardrailId',
        `must be a 12-character guardrail id or its ARN, got ${JSON.stringify(c.guardrailId)}`,
      );
    if (c.guardrailVersion !== undefined && !/^(DRAFT|[1-9][0-9]{0,7})$/.test(c.guardrailVersion))
      throw fail(
        'classifier.guardrailVersion',
        `must be DRAFT or a version number, got ${JSON.stringify(c.guardrailVersion)}`,
      );
    classifier = { ...c };
  } else if (c.kind === 'model-judge') {
    const provider = c.provider ?? 'anthropic';
    const model = c.model ?? 'claude-haiku-4-5';
    if (!priceOf(model, provider))
      throw fail(
        'classifier.model',
        `${JSON.stringify(model)} is not in the ${provider} price table: the judge's calls are reserved on the ledger`,
      );
    const maxTokens = c.maxTokens ?? 512;
    if (!Number.isInteger(maxTokens) || maxTokens < 64 || maxTokens > 4096)
      throw fail('classifier.maxTokens', `must be an integer in [64, 4096], got ${maxTokens}`);
    classifier = { kind: 'model-judge', model, provider, maxTokens };
  } else {
    throw fail(
      'classifier.kind',
      `must be 'bedrock-guardrails' or 'model-judge', got ${JSON.stringify((c as { kind?: unknown }).kind)}`,
    );
  }
  return { classifier, onClassifierError: o.onClassifierError, classifierTimeoutMs: timeout };
}
