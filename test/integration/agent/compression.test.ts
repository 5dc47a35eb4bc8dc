import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainWorkflow, factOf, runChain } from '../../../local/bench/chain-compression.js';
import { responder, text, toolUse } from '../../../local/scripted-model/index.js';
import {
  agent,
  defineAgent,
  defineWorkflow,
  type Passed,
  WorkflowDefinitionError,
} from '../../../state-machines/index.js';
import { AgentHarness } from '../../support/agent-harness.js';

const input = {
  type: 'object',
  properties: { topic: { type: 'string' } },
  required: ['topic'],
  additionalProperties: false,
} as const;
const totals = {
  type: 'object',
  properties: { total: { type: 'number' }, currency: { type: 'string', enum: ['EUR', 'USD'] } },
  required: ['total', 'currency'],
  additionalProperties: false,
} as const;
const mk = (name: string) =>
  defineAgent({ name, model: 'claude-haiku-4-5', system: `You are ${name}.`, tools: [] });

const extract = defineWorkflow({
  name: 'extract-totals',
  description: 'one step passes a total on, the next reads it',
  input,
  steps: [
    agent('sum', { agent: mk('summer'), prompt: () => 'Add up the invoice lines.', passes: totals }),
    agent('report', {
      agent: mk('reporter'),
      needs: ['sum.total', 'sum.currency'],
      prompt: ({ outputs }) => {
        const sum = outputs.sum as Passed<typeof totals>;
        return `Report a total of ${sum.total} ${sum.currency}. Seen: ${JSON.stringify(outputs)}`;
      },
    }),
  ],
  limits: { maxSteps: 10 },
});

let h: AgentHarness;
beforeAll(async () => {
  h = await AgentHarness.start([chainWorkflow(true), chainWorkflow(false), extract]);
});
afterAll(async () => {
  await h.close();
});

describe('compression between steps', () => {
  it('a 10-step chain hands its last step every needed fact in at most 15% of the tokens of forwarding everything', async () => {
    const full = await runChain(h, false);
    const compressed = await runChain(h, true);
    expect([full.status, compressed.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    for (let i = 1; i < 10; i++) {
      expect(compressed.lastInput).toContain(factOf(i));
      expect(full.lastInput).toContain(factOf(i));
    }
    // Only the facts travel: none of the write-ups' other text reaches step 10.
    expect(compressed.lastInput).not.toContain('considered the sources');
    expect(compressed.lastTokens / full.lastTokens).toBeLessThanOrEqual(0.15);
  });

  it('a pass_on of the wrong shape gets ajv’s message back, and only the valid object travels on', async () => {
    h.model.use(
      responder('extract', (req) => {
        if (req.conversation.endsWith(':report')) return text('Reported.');
        if (req.turnIndex === 0) return text('The lines add up to 120 euros.');
        if (req.turnIndex === 1) return toolUse('pass_on', { total: '120', currency: 'EUR', note: 'x' });
        return toolUse('pass_on', { total: 120, currency: 'EUR' });
      }),
    );
    const { runId, execution } = await h.run('extract-totals', { topic: 'INV-1' });
    expect(execution.status).toBe('SUCCEEDED');
    const sum = h.model.requests.filter((r) => r.conversation.endsWith(':sum'));
    expect(sum).toHaveLength(3);
    expect(sum[0]?.body.tools?.map((t) => t.name)).toEqual(['pass_on']);
    // A text answer is not an end: the model is told to pass on.
    expect(JSON.stringify(sum[1]?.body.messages.at(-1))).toContain('End this step by calling pass_on');
    const feedback = JSON.stringify(sum[2]?.body.messages.at(-1));
    expect(feedback).toContain('is_error');
    expect(feedback).toContain('/total: must be number');
    expect(feedback).toContain('unknown property \\"note\\" is not allowed');
    const report = h.model.requests.find((r) => r.conversation.endsWith(':report'));
    expect(report?.body.messages[0]?.content).toBe(
      'Report a total of 120 EUR. Seen: {"sum":{"total":120,"currency":"EUR"}}',
    );
    const rejected = (await h.runs.listEvents(runId)).filter((e) => e.type === 'tool_rejected');
    expect(rejected.map((e) => (e.type === 'tool_rejected' ? e.rule : ''))).toEqual(['invalid_arguments']);
  });
});

describe('what a step passes on is checked at definition time', () => {
  const define = (needs: string[], passes?: typeof totals) => () =>
    defineWorkflow({
      name: 'w',
      description: 'd',
      input,
      steps: [
        agent('a', { agent: mk('a'), prompt: () => 'p', ...(passes ? { passes } : {}) }),
        agent('b', { agent: mk('b'), prompt: () => 'p', needs }),
      ],
    });

  it('refuses a step that reads a field no earlier step passes', () => {
    expect(define(['a.tax'], totals)).toThrow(WorkflowDefinitionError);
    expect(define(['a.tax'], totals)).toThrow(
      'step "b" reads "a.tax", but no earlier step passes it on ("a" passes total, currency)',
    );
    expect(define(['a.total'])).toThrow('"a" declares no passes schema');
    expect(define(['z.total'], totals)).toThrow('"z" has not finished before it');
    expect(define(['a.total', 'a'], totals)).not.toThrow();
  });

  it('refuses a passes schema that is not an object with properties', () => {
    expect(() =>
      agent('x', { agent: mk('x'), prompt: () => 'p', passes: { type: 'string' } as const }),
    ).toThrow('agent step "x": passes must be an object schema with properties');
  });
});
