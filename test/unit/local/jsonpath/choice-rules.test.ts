import { describe, expect, it } from 'vitest';
import { StatesError } from '../../../../local/sfn/errors.js';
import { evaluateChoiceRule, parseTimestamp } from '../../../../local/sfn/jsonpath/index.js';

const input = {
  s: 'log-2024.txt',
  n: 5,
  b: true,
  t: '2024-01-01T10:00:00Z',
  t2: '2024-01-01T12:00:00+02:00',
  z: null,
};
const ctx = { Execution: { Name: 'exec' } };
const vars = { limit: 10, label: 'log-2024.txt' };
const ev = (rule: Record<string, unknown>) => evaluateChoiceRule(rule, input, ctx, vars);

describe('evaluateChoiceRule', () => {
  it('compares strings, numbers, booleans and timestamps, literally and by path', () => {
    expect(ev({ Variable: '$.s', StringEquals: 'log-2024.txt' })).toBe(true);
    expect(ev({ Variable: '$.s', StringEqualsPath: '$label' })).toBe(true);
    expect(ev({ Variable: '$.s', StringLessThan: 'm' })).toBe(true);
    expect(ev({ Variable: '$.n', NumericLessThanPath: '$limit' })).toBe(true);
    expect(ev({ Variable: '$.n', NumericGreaterThanEquals: 5 })).toBe(true);
    expect(ev({ Variable: '$.b', BooleanEquals: true })).toBe(true);
    expect(ev({ Variable: '$.t', TimestampEqualsPath: '$.t2' })).toBe(true);
    expect(ev({ Variable: '$.t', TimestampLessThan: '2024-01-01T10:00:00.001Z' })).toBe(true);
    expect(ev({ Variable: '$$.Execution.Name', StringEquals: 'exec' })).toBe(true);
  });

  it('is false on type mismatches', () => {
    expect(ev({ Variable: '$.n', StringEquals: '5' })).toBe(false);
    expect(ev({ Variable: '$.s', NumericEquals: 5 })).toBe(false);
    expect(ev({ Variable: '$.z', BooleanEquals: false })).toBe(false);
    expect(ev({ Variable: '$.s', TimestampEquals: '2024-01-01T10:00:00Z' })).toBe(false);
  });

  it('StringMatches supports * and escaped \\*', () => {
    expect(ev({ Variable: '$.s', StringMatches: 'log-*.txt' })).toBe(true);
    expect(ev({ Variable: '$.s', StringMatches: '*.csv' })).toBe(false);
    expect(evaluateChoiceRule({ Variable: '$', StringMatches: 'a\\*b*' }, 'a*bc', {}, {})).toBe(true);
    expect(evaluateChoiceRule({ Variable: '$', StringMatches: 'a\\*b' }, 'axb', {}, {})).toBe(false);
  });

  it('type tests and IsPresent', () => {
    expect(ev({ Variable: '$.z', IsNull: true })).toBe(true);
    expect(ev({ Variable: '$.n', IsNumeric: true })).toBe(true);
    expect(ev({ Variable: '$.s', IsString: true })).toBe(true);
    expect(ev({ Variable: '$.b', IsBoolean: false })).toBe(false);
    expect(ev({ Variable: '$.t', IsTimestamp: true })).toBe(true);
    expect(ev({ Variable: '$.missing', IsPresent: false })).toBe(true);
    expect(ev({ Variable: '$.z', IsPresent: true })).toBe(true);
    expect(evaluateChoiceRule({ Variable: '$.xs[?(@ > 5)]', IsPresent: true }, { xs: [1, 2] }, {}, {})).toBe(
      false,
    );
    expect(evaluateChoiceRule({ Variable: '$.xs[?(@ > 1)]', IsPresent: true }, { xs: [1, 2] }, {}, {})).toBe(
      true,
    );
  });

  it('And / Or / Not', () => {
    const yes = { Variable: '$.n', NumericEquals: 5 };
    const no = { Variable: '$.n', NumericEquals: 6 };
    expect(ev({ And: [yes, { Not: no }] })).toBe(true);
    expect(ev({ Or: [no, no] })).toBe(false);
    expect(ev({ Or: [no, { And: [yes, yes] }] })).toBe(true);
  });

  it('fails with States.Runtime when the Variable is missing', () => {
    try {
      ev({ Variable: '$.missing', StringEquals: 'x' });
      throw new Error('no error');
    } catch (e) {
      expect(e).toBeInstanceOf(StatesError);
      expect((e as StatesError).error).toBe('States.Runtime');
      expect((e as StatesError).causeText).toContain("Invalid path '$.missing'");
    }
  });
});

describe('parseTimestamp', () => {
  it('accepts RFC 3339 date-times and rejects the formats AWS rejects', () => {
    expect(parseTimestamp('2016-12-05T21:29:29Z')).toBeTypeOf('bigint');
    expect(parseTimestamp('2016-12-05T21:29:29.123456789-07:00')).toBeTypeOf('bigint');
    for (const bad of [
      '2016-13-05T21:29:29Z',
      '05-12-2016T21:29:29Z',
      '2016-12-05T25:29:29Z',
      '2016-12-05 21:29:29Z',
      '2016-12-05T21:29:29',
      '2016-02-30T00:00:00Z',
    ])
      expect(parseTimestamp(bad), bad).toBeUndefined();
  });
});
