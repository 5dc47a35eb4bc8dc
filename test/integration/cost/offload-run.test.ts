import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isOffloaded } from '../../../lambdas/core/offload.js';
import { lastToolResults, responder, text, toolUse } from '../../../local/scripted-model/index.js';
import { agent, code, defineAgent, defineTool, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness, PAYLOAD_BUCKET, proxyEvent } from '../../support/agent-harness.js';

const BIG = 'r'.repeat(40_000);

const report = defineTool({
  name: 'report',
  description: 'A large report.',
  input: { type: 'object', properties: {}, additionalProperties: false } as const,
  access: 'read',
  trim: { maxBytes: 60_000 },
  run: async () => BIG,
});
const reader = defineAgent({
  name: 'reader',
  model: 'claude-haiku-4-5',
  system: 'Read the report, then answer.',
  tools: [report],
  maxTokens: 64,
});
const bigResult = defineWorkflow({
  name: 'big-result',
  description: 'One tool result above the offload threshold.',
  input: { type: 'object', properties: {}, additionalProperties: false } as const,
  steps: [agent('read', { agent: reader, prompt: () => 'read it' })],
});

let h: AgentHarness;
const bucketDir = () => join(h.dir, 's3', PAYLOAD_BUCKET);

const lostOutput = defineWorkflow({
  name: 'lost-output',
  description: 'A large step output whose payload disappears before the step that needs it.',
  input: { type: 'object', properties: {}, additionalProperties: false } as const,
  steps: [
    code('collect', { run: async () => ({ rows: 'o'.repeat(40_000) }) }),
    // What an operator's lifecycle rule or a mistaken delete would do between two steps.
    code('lose', { run: async () => void rmSync(bucketDir(), { recursive: true, force: true }) }),
    agent('summarise', {
      agent: reader,
      needs: ['collect'],
      prompt: ({ outputs }) => `summarise ${String(JSON.stringify(outputs.collect)).length} bytes`,
    }),
  ],
});

beforeAll(async () => {
  h = await AgentHarness.start([bigResult, lostOutput]);
});
afterAll(async () => {
  await h?.close();
});

describe('payloads above the threshold', () => {
  it('a large tool result travels as a reference, and the model still reads all of it', async () => {
    let seen = '';
    h.model.use(
      responder('big-result', (r) => {
        if (r.turnIndex === 0) return toolUse('report', {});
        seen = lastToolResults(r)[0]?.content ?? '';
        return text('read');
      }),
    );
    const { runId, execution } = await h.run('big-result', {});
    expect(execution.status).toBe('SUCCEEDED');
    // Whole, inside the run's spotlight markers (the result is untrusted data).
    expect(seen).toContain(BIG);
    expect(readdirSync(bucketDir()).filter((f) => f.endsWith('.body'))).toHaveLength(1);

    const res = await h.api()(proxyEvent('GET', '/runs/{id}', { id: runId }, null));
    const run = JSON.parse(res.body) as {
      trail: Array<{ type: string; result?: string; resultBytes?: number }>;
      cost: { usage: { s3: { puts: number; gets: number } }; usd: { s3: number } };
    };
    const call = run.trail.find((e) => e.type === 'tool_call');
    expect(isOffloaded(call?.result)).toBe(true);
    expect(call?.resultBytes).toBe(BIG.length);
    expect(run.cost.usage.s3).toEqual({ puts: 1, gets: 1 });
    expect(run.cost.usd.s3).toBeGreaterThan(0);
  });

  it('an offloaded output that cannot be read back stops the run with OffloadedPayloadMissingError', async () => {
    h.model.use(responder('lost-output', () => text('never asked')));
    const { runId, execution } = await h.run('lost-output', {});
    expect(execution.status).toBe('FAILED');
    const res = await h.api()(proxyEvent('GET', '/runs/{id}', { id: runId }, null));
    const run = JSON.parse(res.body) as { status: string; error?: string };
    expect(run.status).toBe('FAILED');
    expect(run.error).toMatch(
      /OffloadedPayloadMissingError: .*step_output-collect.*is not in the payload bucket/,
    );
    expect(h.model.requests.filter((r) => r.conversation.includes('summarise'))).toHaveLength(0);
  });
});
