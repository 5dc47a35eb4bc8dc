import { afterEach, describe, expect, it } from 'vitest';
import type { LocalStepFunctions } from '../../../../local/sfn/index.js';
import { makeSfn, runToEnd } from './helpers.js';

let sfn: LocalStepFunctions;
afterEach(async () => {
  await sfn?.close();
});

const jsonata = (states: Record<string, unknown>, startAt = Object.keys(states)[0]) => ({
  QueryLanguage: 'JSONata',
  StartAt: startAt,
  States: states,
});

describe('JSONata states', () => {
  it('evaluates Output against $states.input and passes it on', async () => {
    ({ sfn } = makeSfn());
    const def = jsonata({
      A: { Type: 'Pass', Output: { sum: '{% $states.input.a + $states.input.b %}', lit: 'x' }, End: true },
    });

    const r = await runToEnd(sfn, def, { a: 2, b: 3 });

    expect(r.status).toBe('SUCCEEDED');
    expect(r.parsedOutput).toEqual({ sum: 5, lit: 'x' });
  });

  it('evaluates every Assign against the old variable values, and Output cannot see the new ones', async () => {
    ({ sfn } = makeSfn());
    const def = jsonata({
      Init: { Type: 'Pass', Assign: { x: 1, y: 10 }, Next: 'Swap' },
      Swap: {
        Type: 'Pass',
        Assign: { x: '{% $y %}', y: '{% $x %}' },
        Output: { xSeen: '{% $x %}' },
        Next: 'Show',
      },
      Show: {
        Type: 'Pass',
        Output: { x: '{% $x %}', y: '{% $y %}', before: '{% $states.input.xSeen %}' },
        End: true,
      },
    });

    const r = await runToEnd(sfn, def);

    expect(r.parsedOutput).toEqual({ x: 10, y: 1, before: 1 });
  });

  it('fails with States.QueryEvaluationError naming the field when an expression returns nothing', async () => {
    ({ sfn } = makeSfn());
    const def = jsonata({ S: { Type: 'Pass', Output: { result: '{% $nope %}' }, End: true } });

    const r = await runToEnd(sfn, def);

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('States.QueryEvaluationError');
    expect(r.cause).toBe(
      "An error occurred while executing the state 'S' (entered at the event id #2). The JSONata expression '$nope' specified for the field 'Output/result' returned nothing (undefined).",
    );
  });

  it('provides the Step Functions JSONata functions', async () => {
    ({ sfn } = makeSfn());
    const def = jsonata({
      F: {
        Type: 'Pass',
        Output: {
          partition: '{% $partition([1,2,3,4,5], 2) %}',
          range: '{% $range(0, 10, 5) %}',
          hash: "{% $hash('abc', 'SHA-256') %}",
          parsed: '{% $parse(\'{"a":[1]}\') %}',
          uuid: '{% $length($uuid()) %}',
          seeded: '{% $random(7) = $random(7) %}',
        },
        End: true,
      },
    });

    const r = await runToEnd(sfn, def);

    expect(r.parsedOutput).toEqual({
      partition: [[1, 2], [3, 4], [5]],
      range: [0, 5, 10],
      hash: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
      parsed: { a: [1] },
      uuid: 36,
      seeded: true,
    });
  });

  it('routes a Choice by Condition, applying the matched rule Output, and falls back to Default', async () => {
    ({ sfn } = makeSfn());
    const def = jsonata({
      C: {
        Type: 'Choice',
        Choices: [{ Condition: '{% $states.input.n > 5 %}', Next: 'Big', Output: { size: 'big' } }],
        Default: 'Small',
      },
      Big: { Type: 'Succeed' },
      Small: { Type: 'Pass', Output: { size: 'small' }, End: true },
    });

    const big = await runToEnd(sfn, def, { n: 9 }, 'c1');
    const small = await runToEnd(sfn, def, { n: 1 }, 'c2');

    expect(big.parsedOutput).toEqual({ size: 'big' });
    expect(small.parsedOutput).toEqual({ size: 'small' });
  });

  it('fails with a JSONata Error and Cause from a Fail state', async () => {
    ({ sfn } = makeSfn());
    const def = jsonata({
      F: { Type: 'Fail', Error: "{% 'E.' & $states.input.kind %}", Cause: 'literal cause' },
    });

    const r = await runToEnd(sfn, def, { kind: 'Budget' });

    expect(r.status).toBe('FAILED');
    expect(r.error).toBe('E.Budget');
    expect(r.cause).toBe('literal cause');
  });

  it('exposes $states.context with execution, state and task token fields', async () => {
    ({ sfn } = makeSfn());
    const def = jsonata({
      P: {
        Type: 'Pass',
        Output: { name: '{% $states.context.State.Name %}', exec: '{% $states.context.Execution.Name %}' },
        End: true,
      },
    });

    const r = await runToEnd(sfn, def);

    expect(r.parsedOutput).toEqual({ name: 'P', exec: r.name });
  });
});
