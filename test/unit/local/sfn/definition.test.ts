import { describe, expect, it } from 'vitest';
import { parseDefinition } from '../../../../local/sfn/definition.js';
import { DefinitionError } from '../../../../local/sfn/errors.js';

function refusal(def: object): DefinitionError {
  try {
    parseDefinition(def);
  } catch (err) {
    if (err instanceof DefinitionError) return err;
    throw err;
  }
  throw new Error('definition was accepted');
}

describe('definition validation', () => {
  it('refuses a definition without StartAt', () => {
    const err = refusal({ States: { A: { Type: 'Succeed' } } });

    expect(err.field).toBe('StartAt');
  });

  it('names the state and field of a Next to a missing state', () => {
    const err = refusal({ StartAt: 'A', States: { A: { Type: 'Pass', Next: 'Nowhere' } } });

    expect(err.stateName).toBe('A');
    expect(err.field).toBe('Next');
  });

  it('refuses an unknown state type', () => {
    const err = refusal({ StartAt: 'A', States: { A: { Type: 'Teleport', End: true } } });

    expect(err.stateName).toBe('A');
    expect(err.field).toBe('Type');
  });

  it('refuses a JSONata field in a JSONPath state and a JSONPath field in a JSONata state', () => {
    const a = refusal({ StartAt: 'A', States: { A: { Type: 'Pass', Output: 1, End: true } } });
    const b = refusal({
      QueryLanguage: 'JSONata',
      StartAt: 'A',
      States: { A: { Type: 'Pass', Parameters: {}, End: true } },
    });

    expect([a.stateName, a.field]).toEqual(['A', 'Output']);
    expect([b.stateName, b.field]).toEqual(['A', 'Parameters']);
  });

  it('refuses an unsupported Task resource', () => {
    const err = refusal({
      StartAt: 'A',
      States: { A: { Type: 'Task', Resource: 'arn:aws:states:::dynamodb:putItem', End: true } },
    });

    expect(err.field).toBe('Resource');
  });

  it('refuses a JSONata syntax error at registration, inside nested branches too', () => {
    const err = refusal({
      QueryLanguage: 'JSONata',
      StartAt: 'M',
      States: {
        M: {
          Type: 'Map',
          ItemProcessor: {
            StartAt: 'X',
            States: { X: { Type: 'Pass', Output: '{% $states.input + %}', End: true } },
          },
          End: true,
        },
      },
    });

    expect(err.stateName).toBe('X');
    expect(err.field).toBe('Output');
  });

  it('refuses Retry or Catch on a state that cannot fail with a task error', () => {
    const err = refusal({
      StartAt: 'A',
      States: { A: { Type: 'Pass', Retry: [{ ErrorEquals: ['States.ALL'] }], End: true } },
    });

    expect([err.stateName, err.field]).toEqual(['A', 'Retry']);
  });

  it('accepts the resources the local runtime runs', () => {
    const def = {
      QueryLanguage: 'JSONata',
      StartAt: 'A',
      States: {
        A: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke',
          Arguments: { FunctionName: 'f' },
          Next: 'B',
        },
        B: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Arguments: { FunctionName: 'f' },
          Next: 'C',
        },
        C: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:123456789012:function:f', End: true },
      },
    };

    expect(() => parseDefinition(def)).not.toThrow();
  });
});
