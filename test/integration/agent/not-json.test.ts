import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastToolResults, responder, text, toolUse } from '../../../local/scripted-model/index.js';
import { agent, code, defineAgent, defineTool, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness, proxyEvent } from '../../support/agent-harness.js';

/**
 * A tool or a code step that returns what JSON cannot carry (a Map, a BigInt…)
 * is refused by name: the model is told the tool ran and its result is lost,
 * never handed `{}`; the tool is not run again; a code step's run fails
 * `NotJsonError` naming the step and the path.
 */
let runs = 0;
const lookup = defineTool({
  name: 'lookup_invoice',
  description: 'Looks an invoice up.',
  input: { type: 'object', properties: {}, additionalProperties: false } as const,
  access: 'read',
  retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
  run: async () => {
    runs += 1;
    // A tool author's slip: a Map, which JSON.stringify would turn into {}.
    return new Map([['invoice', 'INV-1']]) as unknown as string;
  },
});
const input = { type: 'object', properties: {}, additionalProperties: false } as const;
const toolFlow = defineWorkflow({
  name: 'map-tool',
  description: 'A tool that returns a Map.',
  input,
  steps: [
    agent('look', {
      agent: defineAgent({
        name: 'clerk',
        model: 'claude-haiku-4-5',
        system: 'Look.',
        tools: [lookup],
        maxTokens: 64,
      }),
      prompt: () => 'look it up',
    }),
  ],
});
const codeFlow = defineWorkflow({
  name: 'bigint-code',
  description: 'A code step that returns a BigInt.',
  input,
  steps: [code('total', { run: async () => ({ amount: 10n ** 20n }) as unknown as { amount: number } })],
});

let h: AgentHarness;
beforeAll(async () => {
  h = await AgentHarness.start([toolFlow, codeFlow]);
});
afterAll(async () => {
  await h?.close();
});

describe('values JSON cannot carry', () => {
  it('a tool that returns a Map: the model is told by name, never handed {}, and the tool is not run again', async () => {
    let told = '';
    h.model.use(
      responder('map-tool', (r) => {
        if (r.turnIndex === 0) return toolUse('lookup_invoice', {});
        told = lastToolResults(r)[0]?.content ?? '';
        return text('could not read it');
      }),
    );
    const { runId, execution } = await h.run('map-tool', {});
    expect(execution.status).toBe('SUCCEEDED');
    expect(runs).toBe(1);
    expect(told).toContain('lookup_invoice ran, but its result is not JSON: $ is a Map');
    expect(told).toContain('whatever it did is done');
    expect(told).not.toMatch(/>\s*\{\}\s*</);
    const events = await h.runs.listEvents(runId);
    const call = events.find((e) => e.type === 'tool_call');
    expect(call?.type === 'tool_call' && call.status).toBe('error');
  });

  it('a code step that returns a BigInt: the run fails NotJsonError naming the step and the path', async () => {
    const { runId, execution } = await h.run('bigint-code', {});
    expect(execution.status).toBe('FAILED');
    // Terminal: caught and recorded (RunFailed), not left for a redrive that would fail the same.
    expect(execution.error).toBe('RunFailed');
    const res = await h.api()(proxyEvent('GET', '/runs/{id}', { id: runId }, null));
    const run = JSON.parse(res.body) as Record<string, unknown>;
    expect(run.status).toBe('FAILED');
    expect(run.redrivable).toBeUndefined();
    expect(run.error).toContain("code step total's output is not JSON: $.amount is a BigInt");
  });
});
