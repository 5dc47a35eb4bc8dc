import { describeErrors, firstErrorField } from '../../state-machines/schema.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { utf8Bytes } from './canonical.js';
import { INJECTION_THRESHOLD } from './guardrails/patterns.js';
import { scanText } from './guardrails/scan.js';

/** Size cap of a run's input as JSON text. */
export const MAX_INPUT_BYTES = 32 * 1024;

export type GuardrailVerdict = { ok: true } | { ok: false; rule: string; field: string; message: string };

/**
 * Score one text for prompt injection on its normalised views (NFKC, invisible
 * and bidi controls removed, confusables folded, encoded segments decoded):
 * the highest score and the heuristics that gave it. See `guardrails/scan.ts`.
 */
export function injectionScore(text: string): { score: number; matched: string[] } {
  const { score, matched } = scanText(text);
  return { score, matched };
}

export { INJECTION_THRESHOLD };

/**
 * Every string in a JSON value with its JSON pointer: the values, and the keys
 * of objects too (a schema that allows free-form keys lets text reach the
 * prompt through them).
 */
function* strings(value: unknown, path = ''): Generator<[string, string]> {
  if (typeof value === 'string') yield [path || '/', value];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, `${path}/${i}`);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      yield [`${path}/${k}`, k];
      yield* strings(v, `${path}/${k}`);
    }
}

/**
 * The input guardrails between a request and the first step, in order: size,
 * the workflow's input schema, prompt-injection heuristics on every string
 * (normalised first, encoded segments decoded and judged too),
 * then the author's own validators (scope and business rules). The first
 * failure names its rule and field.
 */
export async function checkRunInput(workflow: Workflow, input: unknown): Promise<GuardrailVerdict> {
  const bytes = utf8Bytes(JSON.stringify(input ?? null));
  if (bytes > MAX_INPUT_BYTES) {
    return {
      ok: false,
      rule: 'input_size',
      field: '/input',
      message: `input is ${bytes} bytes; at most ${MAX_INPUT_BYTES} are accepted`,
    };
  }
  if (!workflow.validateInput(input)) {
    const field = `/input${firstErrorField(workflow.validateInput.errors) ?? ''}`.replace(/\/$/, '');
    return {
      ok: false,
      rule: 'input_schema',
      field,
      message: `input does not match the ${workflow.name} input schema: ${describeErrors(workflow.validateInput.errors)}`,
    };
  }
  for (const [path, text] of strings(input)) {
    const scan = scanText(text);
    if (scan.flagged) {
      const seen = scan.view === 'text' ? '' : ` in its ${scan.view.replace(/^text:/, '')} form`;
      return {
        ok: false,
        rule: 'prompt_injection',
        field: `/input${path === '/' ? '' : path}`,
        message: `input looks like a prompt-injection attempt (${scan.matched.join(', ')})${seen}`,
      };
    }
  }
  for (const [name, validate] of Object.entries(workflow.validators)) {
    const problem = await validate(input);
    if (problem !== undefined) return { ok: false, rule: name, field: '/input', message: problem };
  }
  return { ok: true };
}
