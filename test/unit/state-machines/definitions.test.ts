import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { invoiceWorkflow } from '../../../examples/invoice/workflow.js';
import {
  type AccessClass,
  agent,
  code,
  compileWorkflow,
  defineAgent,
  defineTool,
  defineWorkflow,
  parallel,
  STOP_REASONS,
  WorkflowDefinitionError,
} from '../../../state-machines/index.js';

const schema = {
  type: 'object',
  properties: { q: { type: 'string' } },
  required: ['q'],
  additionalProperties: false,
} as const;
const tool = (name: string, extra: { fallback?: string; access?: AccessClass } = {}) =>
  defineTool({
    name,
    description: `tool ${name}`,
    input: schema,
    access: 'read',
    run: async () => null,
    ...extra,
  });
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

describe('definition-time errors', () => {
  it('refuses more than 20 tools on one agent', () => {
    const tools = Array.from({ length: 21 }, (_, i) => tool(`t${i}`));
    expect(
      definitionError(() => defineAgent({ name: 'big', model: 'claude-haiku-4-5', system: 's', tools })),
    ).toMatch(/has 21 tools; at most 20/);
  });

  it('refuses duplicate tool names', () => {
    expect(
      definitionError(() =>
        defineAgent({ name: 'dup', model: 'claude-haiku-4-5', system: 's', tools: [tool('a'), tool('a')] }),
      ),
    ).toMatch(/duplicate tool name "a"/);
  });

  it('refuses a schema ajv cannot compile in strict mode, naming the tool', () => {
    const bad = { type: 'object', properties: { q: { type: 'string', minimum: 'x' } } } as const;
    expect(
      definitionError(() =>
        defineTool({ name: 'bad', description: 'd', input: bad, access: 'read', run: async () => null }),
      ),
    ).toMatch(/tool "bad": its JSON Schema does not compile in ajv strict mode/);
  });

  it('refuses a fallback that names no tool', () => {
    expect(
      definitionError(() =>
        defineAgent({
          name: 'fb',
          model: 'claude-haiku-4-5',
          system: 's',
          tools: [tool('a', { fallback: 'missing' })],
        }),
      ),
    ).toMatch(/fallback "missing", which names no tool of this agent/);
  });

  it('refuses a parallel branch that reads its sibling', () => {
    const a = defineAgent({ name: 'a', model: 'claude-haiku-4-5', system: 's', tools: [tool('x')] });
    expect(
      definitionError(() =>
        defineWorkflow({
          name: 'bad-fanout',
          description: 'd',
          input: schema,
          steps: [
            parallel(
              'p',
              agent('left', { agent: a, prompt: () => 'l' }),
              code('right', { needs: ['left'], run: async () => 1 }),
            ),
          ],
        }),
      ),
    ).toMatch(/step "right" needs "left", which has not finished before it \(it runs in a parallel branch/);
  });

  it('refuses a gate that can outwait the run', () => {
    const a = defineAgent({
      name: 'a',
      model: 'claude-haiku-4-5',
      system: 's',
      tools: [tool('w', { access: 'write' })],
    });
    expect(
      definitionError(() =>
        defineWorkflow({
          name: 'slow-gate',
          description: 'd',
          input: schema,
          steps: [agent('s', { agent: a, prompt: () => 'p' })],
          limits: { timeLimitSeconds: 600 },
          approvals: { approvers: ['a@example.com'], timeoutSeconds: 3600 },
        }),
      ),
    ).toMatch(/may wait 3600 s, which is not less than limits.timeLimitSeconds \(600 s\)/);
  });

  it('refuses write tools without approvers', () => {
    const a = defineAgent({
      name: 'a',
      model: 'claude-haiku-4-5',
      system: 's',
      tools: [tool('w', { access: 'write' })],
    });
    expect(
      definitionError(() =>
        defineWorkflow({
          name: 'no-approvers',
          description: 'd',
          input: schema,
          steps: [agent('s', { agent: a, prompt: () => 'p' })],
        }),
      ),
    ).toMatch(/tools that need approval \(w\) but the workflow names no approvers/);
  });
});

describe('compiled state machine', () => {
  const asl = compileWorkflow(invoiceWorkflow, arns);

  it('is a JSONata definition that asl-validator accepts', () => {
    const validator = createRequire(import.meta.url)('asl-validator') as (d: unknown) => {
      isValid: boolean;
      errors: unknown[];
    };
    const result = validator(asl);
    expect(result.errors).toEqual([]);
    expect(result.isValid).toBe(true);
    expect(asl.QueryLanguage).toBe('JSONata');
  });

  it('has a named Fail state for every stop reason', () => {
    for (const reason of STOP_REASONS)
      expect(asl.States[reason]).toMatchObject({ Type: 'Fail', Error: reason });
  });

  it('checks the step limit on a state machine variable', () => {
    const choice = asl.States['reconcile: next?'] as { Choices: Array<{ Condition: string; Next: string }> };
    expect(choice.Choices).toContainEqual(
      expect.objectContaining({ Condition: '{% $step >= 12 %}', Next: 'reconcile: step limit' }),
    );
  });

  it('retries only retryable error names', () => {
    const task = asl.States.reconcile as { Retry: Array<{ ErrorEquals: string[] }> };
    const names = task.Retry.flatMap((r) => r.ErrorEquals);
    expect(names).toContain('ModelThrottledError');
    expect(names).not.toContain('States.ALL');
    expect(names).not.toContain('ValidationError');
  });

  it('waits for approvals with the task token from the JSONata context', () => {
    const gate = asl.States['reconcile: approval'] as {
      Resource: string;
      Arguments: { Payload: { taskToken: string } };
      TimeoutSeconds: unknown;
    };
    expect(gate.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(gate.Arguments.Payload.taskToken).toBe('{% $states.context.Task.Token %}');
    expect(gate.TimeoutSeconds).toBeDefined();
  });
});
