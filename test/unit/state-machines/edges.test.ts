import { describe, expect, it } from 'vitest';
import {
  agent,
  approval,
  compileWorkflow,
  defineAgent,
  defineTool,
  defineWorkflow,
  WorkflowDefinitionError,
} from '../../../state-machines/index.js';

const lookup = defineTool({
  name: 'lookup',
  description: 'look up',
  input: { type: 'object', properties: { q: { type: 'string' } }, additionalProperties: false } as const,
  access: 'read',
  run: async () => null,
});
const reader = defineAgent({ name: 'reader', model: 'claude-haiku-4-5', system: 's', tools: [lookup] });
const base = {
  name: 'edgy',
  description: 'edges',
  input: { type: 'object' } as const,
  steps: [agent('work', { agent: reader, prompt: () => 'go' })],
  approvals: { approvers: ['a@example.com'], timeoutSeconds: 60 },
};
const arns = {
  agentStep: 'arn:aws:lambda:us-east-1:123456789012:function:agent',
  toolStep: 'arn:aws:lambda:us-east-1:123456789012:function:tool',
  codeStep: 'arn:aws:lambda:us-east-1:123456789012:function:code',
  finish: 'arn:aws:lambda:us-east-1:123456789012:function:finish',
  approvalRequest: 'arn:aws:lambda:us-east-1:123456789012:function:approval',
};

function definitionError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WorkflowDefinitionError);
    return (err as Error).message;
  }
  throw new Error('expected a WorkflowDefinitionError');
}

describe('edge settings', () => {
  it('default to fail for every limit, with no margin held back', () => {
    const w = defineWorkflow(base);
    expect(w.edges).toEqual({ steps: 'fail', tokens: 'fail', cost: 'fail', time: 'fail' });
    expect(w.finalAnswerMargin).toBeUndefined();
    expect(w.extensions.tokens).toEqual({ by: 50_000, max: 100_000 });
  });

  it('name the field of a setting that names no limit', () => {
    expect(definitionError(() => defineWorkflow({ ...base, edges: { token: 'ask' } as never }))).toBe(
      'workflow "edgy": edges.token names no limit: the limits with an edge are steps, tokens, cost, time',
    );
    expect(
      definitionError(() =>
        defineAgent({
          name: 'x',
          model: 'claude-haiku-4-5',
          system: 's',
          tools: [],
          edges: { turns: 'fail' } as never,
        }),
      ),
    ).toBe('agent "x": edges.turns names no limit: the limits with an edge are steps, tokens, cost, time');
    expect(definitionError(() => defineWorkflow({ ...base, edges: { tokens: 'extend' as never } }))).toBe(
      `workflow "edgy": edges.tokens must be 'fail', 'final-answer', 'ask', got "extend"`,
    );
    expect(
      definitionError(() => defineWorkflow({ ...base, extensions: { tokenz: { by: 1 } } as never })),
    ).toMatch(/extensions\.tokenz names no limit/);
  });

  it('refuse an ask without approvers and an extension policy that cannot work', () => {
    const { approvals: _none, ...noApprovers } = base;
    expect(definitionError(() => defineWorkflow({ ...noApprovers, edges: { cost: 'ask' } }))).toMatch(
      /edges\.cost is 'ask' but the workflow names no approvers/,
    );
    expect(
      definitionError(() =>
        defineWorkflow({ ...base, edges: { tokens: 'ask' }, extensions: { tokens: { by: 10, max: 5 } } }),
      ),
    ).toBe('workflow "edgy": extensions.tokens.by (10) is larger than extensions.tokens.max (5)');
    expect(definitionError(() => defineWorkflow({ ...base, extensions: { steps: { by: 1.5 } } }))).toMatch(
      /extensions\.steps\.by must be a positive integer, got 1.5/,
    );
  });

  it('hold back a checked margin only for a final-answer edge', () => {
    const w = defineWorkflow({ ...base, edges: { steps: 'final-answer' } });
    expect(w.finalAnswerMargin).toEqual({ tokens: 20_000, costUsd: 1, steps: 1 });
    expect(definitionError(() => defineWorkflow({ ...base, finalAnswerMargin: { tokens: 10 } }))).toMatch(
      /finalAnswerMargin is set but no edge is 'final-answer'/,
    );
    expect(
      definitionError(() =>
        defineWorkflow({
          ...base,
          edges: { tokens: 'final-answer' },
          finalAnswerMargin: { tokens: 200_000 },
        }),
      ),
    ).toMatch(/finalAnswerMargin.tokens must be a positive integer below limits.maxTokens \(100000\)/);
  });

  it('an agent edge wins for its step', () => {
    const own = defineAgent({
      name: 'own',
      model: 'claude-haiku-4-5',
      system: 's',
      tools: [lookup],
      edges: { steps: 'final-answer' },
    });
    const w = defineWorkflow({ ...base, steps: [agent('work', { agent: own, prompt: () => 'go' })] });
    expect([w.edgeOf('work', 'steps'), w.edgeOf('work', 'tokens')]).toEqual(['final-answer', 'fail']);
    expect(w.finalAnswerMargin?.steps).toBe(1);
  });

  it('compile an ask on time into the execution timeout, and an ask on steps into the state machine check', () => {
    const w = defineWorkflow({
      ...base,
      limits: { maxSteps: 5, timeLimitSeconds: 900 },
      edges: { steps: 'ask', time: 'ask' },
      extensions: { steps: { by: 2, max: 4 }, timeSeconds: { by: 300, max: 600 } },
    });
    const asl = compileWorkflow(w, arns);
    expect(asl.TimeoutSeconds).toBe(900 + 600 + 300);
    const choice = asl.States['work: next?'] as { Choices: Array<{ Condition: string }> };
    expect(choice.Choices.map((c) => c.Condition)).toContain('{% $step >= 9 %}');
  });

  it('validate a reminder before the gate times out', () => {
    expect(
      definitionError(() =>
        defineWorkflow({
          ...base,
          steps: [
            approval('sign', {
              approvers: ['a@example.com'],
              timeoutSeconds: 60,
              remindBeforeSeconds: 60,
              summary: () => 's',
            }),
          ],
        }),
      ),
    ).toMatch(
      /remindBeforeSeconds must be an integer in \[1, timeoutSeconds - 1\] \(timeoutSeconds is 60\), got 60/,
    );
  });
});
