import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responder, text, toolUse } from '../../../local/scripted-model/index.js';
import { agent, defineAgent, defineTool, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness } from '../../support/agent-harness.js';

/**
 * An ungated read tool's call is not claimed before it runs (it has no effect
 * to fence; `tool-step.ts`), so a tool step that died past all its retries
 * leaves the same record whether the tool had started or not. The model must
 * then be told what is true of both, and a call that acts on the world (which
 * is claimed first) keeps its own answer.
 */
const ARGS_SCHEMA = {
  type: 'object',
  properties: { id: { type: 'string' } },
  required: ['id'],
  additionalProperties: false,
} as const;

const ran: string[] = [];
const lookup = defineTool({
  name: 'lookup',
  description: 'Reads a record.',
  input: ARGS_SCHEMA,
  access: 'read',
  run: async ({ id }) => {
    ran.push(`lookup ${id}`);
    return { id, found: true };
  },
});
const note = defineTool({
  name: 'note',
  description: 'Writes a note.',
  input: ARGS_SCHEMA,
  access: 'write',
  approval: false,
  run: async ({ id }) => {
    ran.push(`note ${id}`);
    return { id, written: true };
  },
});

const workflow = defineWorkflow({
  name: 'read-claims',
  description: 'Calls a tool whose step dies, then calls it again.',
  input: {
    type: 'object',
    properties: { tool: { type: 'string' } },
    required: ['tool'],
    additionalProperties: false,
  } as const,
  steps: [
    agent('work', {
      agent: defineAgent({
        name: 'worker',
        model: 'claude-haiku-4-5',
        system: 'Use the tool you are told to.',
        tools: [lookup, note],
        maxTokens: 128,
      }),
      prompt: ({ input }) => `use ${(input as { tool: string }).tool}`,
    }),
  ],
  limits: { maxSteps: 10, maxTokens: 1_000_000, maxCostUsd: 10, timeLimitSeconds: 120 },
});

/** The tool call ids whose tool step dies on every invocation (after running the tool, for `lookup`). */
const dying = new Set<string>();
/** The tool call ids whose tool step dies once, after its handler ran (the completion written). */
const diesOnceAfter = new Set<string>();
let h: AgentHarness;
beforeAll(async () => {
  h = await AgentHarness.start(
    [workflow],
    { AWS_MAX_ATTEMPTS: '1' },
    {
      retryJitter: () => 0.002,
      inject: async (fn, event, run) => {
        const call = (event as { call?: { toolUseId?: string; tool?: string; args?: { id: string } } }).call;
        if (fn === 'toolStep' && call?.toolUseId && diesOnceAfter.delete(call.toolUseId)) {
          await run();
          const died = new Error('the function process died after its handler ran (injected)');
          died.name = 'Lambda.Unknown';
          throw died;
        }
        if (fn !== 'toolStep' || !call?.toolUseId || !dying.has(call.toolUseId)) return run();
        // The read ran, then its process died before the result was written; the write never started.
        if (call.tool === 'lookup') ran.push(`lookup ${call.args?.id}`);
        const died = new Error('the function process died (injected)');
        died.name = 'Lambda.Unknown';
        throw died;
      },
    },
  );
});
afterAll(async () => {
  await h?.close();
});

let runs = 0;

/** Runs the workflow with `tool`, whose first call's step dies on every attempt; the model then calls it again. */
async function runWithDyingFirstCall(tool: 'lookup' | 'note') {
  runs += 1;
  ran.length = 0;
  dying.clear();
  const firstId = `toolu_dying_${runs}`;
  dying.add(firstId);
  h.model.use(
    responder('read-claims', (request) => {
      switch (request.turnIndex) {
        case 0:
          return toolUse(tool, { id: 'first' }, { id: firstId });
        case 1:
          return toolUse(tool, { id: 'second' });
        default:
          return text('done');
      }
    }),
  );
  const { execution } = await h.run('read-claims', { tool });
  const asked = h.model.requests.find(
    (r) => r.turnIndex === 1 && JSON.stringify(r.body.messages).includes(firstId),
  );
  const answer = JSON.stringify(asked?.body.messages.at(-1)?.content);
  return { execution, answer, ran: [...ran] };
}

describe("an ungated read tool's call", () => {
  it('is not run again by a Task retry after an attempt that completed it', async () => {
    runs += 1;
    ran.length = 0;
    dying.clear();
    const id = `toolu_completed_${runs}`;
    diesOnceAfter.add(id);
    h.model.use(
      responder('read-claims', (request) =>
        request.turnIndex === 0 ? toolUse('lookup', { id: 'once' }, { id }) : text('done'),
      ),
    );
    const { execution } = await h.run('read-claims', { tool: 'lookup' });
    expect(execution.status).toBe('SUCCEEDED');
    expect(diesOnceAfter.has(id)).toBe(false);
    expect(ran).toEqual(['lookup once']);
    const asked = h.model.requests.find(
      (r) => r.turnIndex === 1 && JSON.stringify(r.body.messages).includes(id),
    );
    expect(JSON.stringify(asked?.body.messages.at(-1)?.content)).toContain('found');
  });

  it('whose step died past its retries is told "did not complete, nothing changed", and runs again', async () => {
    const out = await runWithDyingFirstCall('lookup');
    expect(out.execution.status).toBe('SUCCEEDED');
    expect(out.answer).toContain(
      'The lookup call did not complete: the platform failed before its result was recorded. It only reads, so nothing changed.',
    );
    expect(out.answer).not.toContain('before the tool was started');
    expect(out.ran.filter((r) => r === 'lookup first').length).toBeGreaterThan(0);
    expect(out.ran).toContain('lookup second');
  });

  it('keeps "did not run" for a tool that acts, whose claim comes before it runs', async () => {
    const out = await runWithDyingFirstCall('note');
    expect(out.execution.status).toBe('SUCCEEDED');
    expect(out.answer).toContain(
      'The note call did not run: the platform failed before the tool was started, so nothing happened.',
    );
    expect(out.ran).toEqual(['note second']);
  });
});
