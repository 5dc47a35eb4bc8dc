import { describe, expect, it } from 'vitest';
import {
  applyInputOutputPath,
  applyPayloadTemplate,
  applyResultPath,
  evaluateChoiceRule,
} from '../../../../local/sfn/jsonpath/index.js';
import { CHOICE_BOOLEAN_IS_CASES } from './fixtures/choice-boolean-is.js';
import { CHOICE_NUMERIC_CASES } from './fixtures/choice-numeric.js';
import { CHOICE_STRING_TIMESTAMP_CASES } from './fixtures/choice-string-timestamp.js';
import { INTRINSIC_CASES } from './fixtures/intrinsic-cases.js';
import { MACHINE_CASES } from './fixtures/machine-cases.js';
import { contextFor, runMachine } from './helpers/mini-machine.js';

const CHOICE_CASES = [...CHOICE_BOOLEAN_IS_CASES, ...CHOICE_NUMERIC_CASES, ...CHOICE_STRING_TIMESTAMP_CASES];

describe('Choice rules agree with recorded AWS executions', () => {
  it.each(CHOICE_CASES)('%s', (_id, rule, input, matched) => {
    expect(evaluateChoiceRule(rule, input, contextFor(input, 'CheckValues'), {})).toBe(matched);
  });
});

describe('intrinsic functions agree with recorded AWS executions', () => {
  it.each(INTRINSIC_CASES)('%s', (_id, state, input, output) => {
    const ctx = contextFor(input, 'State0');
    const s = state as { Parameters?: unknown; InputPath?: string; ResultPath?: string; OutputPath?: string };
    const effective = applyInputOutputPath(input, s.InputPath, ctx, {});
    const result = applyPayloadTemplate(s.Parameters, effective, ctx, {});
    const out = applyInputOutputPath(applyResultPath(input, result, s.ResultPath), s.OutputPath, ctx, {});
    expect(out).toEqual(output);
  });
});

describe('Pass/Choice executions agree with recorded AWS executions', () => {
  it.each(MACHINE_CASES)('%s', (_id, definition, input, expected) => {
    const got = runMachine(definition, input);
    if (expected.status === 'SUCCEEDED') {
      expect(got).toEqual({ status: 'SUCCEEDED', output: withUuidMatchers(expected.output) });
      return;
    }
    expect(got.status).toBe('FAILED');
    if (got.status !== 'FAILED') return;
    expect(got.error ?? null).toEqual(expected.error ?? null);
    if (typeof expected.cause === 'string' && expected.cause.includes('<json-input:1>')) {
      const [before = '', after = ''] = expected.cause.split('<json-input:1>');
      expect(got.cause).toMatch(new RegExp(`^${escapeRegex(before)}\\{.*\\}${escapeRegex(after)}$`));
    } else expect(got.cause ?? null).toEqual(expected.cause ?? null);
  });
});

/** `<uuid:N>` placeholders in recordings stand for any UUID. */
function withUuidMatchers(value: unknown): unknown {
  if (typeof value === 'string' && /^<uuid:\d+>$/.test(value))
    return expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  if (Array.isArray(value)) return value.map(withUuidMatchers);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withUuidMatchers(v)]));
  return value;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
