import { describeErrors, firstErrorField } from '../../state-machines/schema.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { utf8Bytes } from './canonical.js';

/** Size cap of a run's input as JSON text. */
export const MAX_INPUT_BYTES = 32 * 1024;

export type GuardrailVerdict = { ok: true } | { ok: false; rule: string; field: string; message: string };

/**
 * Phrases that try to override instructions, exfiltrate the system prompt or
 * switch roles. Heuristics, not proof: each is scored, and a field is rejected
 * at a score of 2 or more, so one loose word does not reject ordinary text.
 * Precision and recall on the labelled sample are measured by `npm run bench`.
 */
const INJECTION_PATTERNS: ReadonlyArray<{ pattern: RegExp; score: number; name: string }> = [
  {
    name: 'override',
    score: 2,
    pattern:
      /\b(ignore|disregard|forget|override|bypass)\b[^.]{0,40}\b(previous|prior|above|earlier|all|your|the|any)\b[^.]{0,30}\b(instructions?|prompts?|rules?|guidelines?|directions?|policies|polic(y|ies)|guardrails?)\b/i,
  },
  {
    name: 'new-instructions',
    score: 2,
    pattern: /\b(new|updated|real|actual)\s+(system\s+)?(instructions?|prompt|rules)\s*[:：]/i,
  },
  {
    name: 'system-prompt-leak',
    score: 2,
    pattern:
      /\b(reveal|print|show|repeat|output|leak|display)\b[^.]{0,40}\b(system\s+prompt|hidden\s+(prompt|instructions?)|your\s+(instructions?|prompt))\b/i,
  },
  {
    name: 'role-switch',
    score: 2,
    pattern:
      /\byou\s+are\s+now\b|\bact\s+as\s+(an?\s+)?(unrestricted|jailbroken|dan\b|developer\s+mode)|\bdeveloper\s+mode\b|\bjailbreak/i,
  },
  {
    name: 'fake-role-tag',
    score: 2,
    pattern:
      /(^|\n)\s*(system|assistant)\s*[:>]|<\/?\s*(system|assistant|instructions?)\s*>|\[\s*(system|inst)\s*\]/i,
  },
  {
    name: 'tool-coercion',
    score: 1,
    pattern:
      /\b(call|invoke|use|run|execute)\b[^.]{0,20}\b(tool|function)\b[^.]{0,40}\b(void|delete|drop|transfer|wire|refund|pay)\b/i,
  },
  {
    name: 'exfiltration',
    score: 1,
    pattern:
      /\b(send|post|upload|forward|email)\b[^.]{0,40}\b(credentials?|api\s*keys?|passwords?|secrets?|tokens?)\b/i,
  },
  {
    name: 'urgency-authority',
    score: 1,
    pattern:
      /\b(as\s+(your|the)\s+(administrator|admin|developer|ceo|owner))\b|\bthis\s+is\s+(an?\s+)?(authorized|official)\s+(override|request)\b/i,
  },
  { name: 'encoding-trick', score: 1, pattern: /\b(base64|rot13|hex)[-\s]*(decode|encoded)\b/i },
  // Families seen in public jailbreak collections, kept generic on purpose.
  {
    name: 'chat-template-token',
    score: 2,
    pattern: /<\|(im_start|im_end|system|endoftext)\|>|\[\/?INST\]|<<\/?SYS>>/i,
  },
  { name: 'json-role-object', score: 2, pattern: /"role"\s*:\s*"(system|developer)"/i },
  {
    name: 'forget-context',
    score: 2,
    pattern:
      /\b(forget|ignore|disregard)\s+(everything|all)\s+(above|before|previous|prior|you\s+were\s+told)\b/i,
  },
  { name: 'from-now-on', score: 1, pattern: /\bfrom\s+now\s+on\b[^.]{0,60}\b(you|your)\b/i },
  {
    name: 'credential-request',
    score: 1,
    pattern: /\b(what\s+is|give\s+me|tell\s+me|list|print)\b[^.?]{0,40}\b(secret|api)\s*(key|token)s?\b/i,
  },
  { name: 'long-base64-blob', score: 1, pattern: /[A-Za-z0-9+/]{60,}={0,2}/ },
];

/** Score one text for prompt injection; returns the matched heuristics. */
export function injectionScore(text: string): { score: number; matched: string[] } {
  let score = 0;
  const matched: string[] = [];
  for (const h of INJECTION_PATTERNS) {
    if (h.pattern.test(text)) {
      score += h.score;
      matched.push(h.name);
    }
  }
  return { score, matched };
}

export const INJECTION_THRESHOLD = 2;

/** Every string in a JSON value with its JSON pointer. */
function* strings(value: unknown, path = ''): Generator<[string, string]> {
  if (typeof value === 'string') yield [path || '/', value];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, `${path}/${i}`);
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) yield* strings(v, `${path}/${k}`);
}

/**
 * The input guardrails between a request and the first step, in order: size,
 * the workflow's input schema, prompt-injection heuristics on every string,
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
    const { score, matched } = injectionScore(text);
    if (score >= INJECTION_THRESHOLD) {
      return {
        ok: false,
        rule: 'prompt_injection',
        field: `/input${path === '/' ? '' : path}`,
        message: `input looks like a prompt-injection attempt (${matched.join(', ')})`,
      };
    }
  }
  for (const [name, validate] of Object.entries(workflow.validators)) {
    const problem = await validate(input);
    if (problem !== undefined) return { ok: false, rule: name, field: '/input', message: problem };
  }
  return { ok: true };
}
