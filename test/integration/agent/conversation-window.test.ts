import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { text } from '../../../local/scripted-model/index.js';
import type { RecordedRequest } from '../../../local/scripted-model/types.js';
import { agent, defineAgent, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness } from '../../support/agent-harness.js';
import { reading as readingPages, readPage, reportInput } from './fixtures.js';

const THRESHOLD = 8_000;
const TASK = 'Read the report page by page and list every figure it gives.';
const reader = defineAgent({
  name: 'reader',
  model: 'claude-haiku-4-5',
  system: 'You read reports. Never reveal internal notes.',
  tools: [readPage],
  window: { maxTokens: THRESHOLD, keepTurns: 3 },
  maxIdenticalCalls: 1,
});
const longRead = defineWorkflow({
  name: 'long-read',
  description: 'a 60-turn conversation',
  input: reportInput,
  steps: [agent('read', { agent: reader, prompt: () => TASK })],
  limits: { maxSteps: 70, maxTokens: 3_000_000, maxCostUsd: 100 },
});

const TURNS = 60;
// The long-read scripted reader, its summaries made of each summary request.
const reading = (summary: (req: RecordedRequest) => string) =>
  readingPages('long-read', TURNS, (req) => text(summary(req)));

let h: AgentHarness;
beforeAll(async () => {
  h = await AgentHarness.start([longRead]);
});
afterAll(async () => {
  await h.close();
});

describe('the conversation window', () => {
  it('keeps a 60-turn conversation under the threshold after the first fold, with the task in every call', {
    timeout: 120_000,
  }, async () => {
    h.model.use(
      reading(
        (req) =>
          `Figures so far (from ${JSON.stringify(req.body.messages).length} bytes of turns): see the pages.`,
      ),
    );
    const { runId, execution } = await h.run('long-read', { report: 'R-1' });
    expect(execution.status).toBe('SUCCEEDED');

    const calls = h.model.requests.filter((r) => !r.conversation.endsWith(':summary'));
    expect(calls.length).toBe(TURNS + 1);
    for (const c of calls) {
      expect(String(c.body.messages[0]?.content).startsWith(TASK)).toBe(true);
      expect(JSON.stringify(c.body.system)).toContain('Never reveal internal notes.');
    }
    const size = (r: RecordedRequest) =>
      Buffer.byteLength(r.body.system ? JSON.stringify(r.body.system) : '') +
      Buffer.byteLength(JSON.stringify(r.body.tools ?? [])) +
      r.body.messages.reduce((n, m) => n + Buffer.byteLength(JSON.stringify(m.content)), 0);
    const firstFold = calls.findIndex((c) =>
      String(c.body.messages[0]?.content).includes('<conversation_summary'),
    );
    expect(firstFold).toBeGreaterThan(0);
    for (const c of calls.slice(firstFold)) expect(size(c)).toBeLessThanOrEqual(THRESHOLD);
    // Before any fold the history grew past the threshold: the window is what kept it down.
    expect(Math.max(...calls.map(size))).toBeLessThanOrEqual(THRESHOLD);

    const trail = await h.runs.listEvents(runId);
    const summaries = trail.filter((e) => e.type === 'conversation_summary');
    expect(summaries.length).toBeGreaterThan(1);
    const windows = trail.filter((e) => e.type === 'conversation_window');
    const dropped = windows.flatMap((e) =>
      e.type === 'conversation_window' ? (e.droppedToolOutputs as unknown[]) : [],
    );
    expect(dropped.length).toBeGreaterThan(0);
    // Oldest first, and never from the turns kept verbatim.
    for (const e of windows) {
      if (e.type !== 'conversation_window') continue;
      const turns = (e.droppedToolOutputs as Array<{ iteration: number }>).map((d) => d.iteration);
      expect(turns).toEqual([...turns].sort((a, b) => a - b));
      for (const t of turns) expect(t).toBeLessThan(e.iteration - 3);
    }
    // Every folded turn reaches exactly one summary call: none is lost at a fold's boundary, none merged twice.
    const merged = h.model.requests
      .filter((r) => r.conversation.endsWith(':summary'))
      .flatMap((r) => [
        ...String(r.body.messages[0]?.content).matchAll(/^(user|assistant) \(turn (\d+)\):/gm),
      ])
      .map((m) => `${m[1]} ${m[2]}`);
    expect(new Set(merged).size).toBe(merged.length);
    const lastBefore = Math.max(
      ...summaries.map((e) => (e.type === 'conversation_summary' ? e.beforeIteration : 0)),
    );
    const folded = (await h.runs.listMessages(runId, 'read'))
      .filter((m) => m.iteration > 1 || m.message.role === 'assistant')
      .filter((m) => m.iteration < lastBefore || (m.iteration === lastBefore && m.message.role === 'user'))
      .map((m) => `${m.message.role} ${m.iteration}`);
    expect(merged.sort()).toEqual(folded.sort());
    // Every summary call was paid from the ledger and settled: nothing stays reserved.
    const ledger = await h.runs.getLedger(runId);
    const modelTokens = trail.reduce(
      (n, e) => (e.type === 'model_call' ? n + e.inputTokens + e.outputTokens : n),
      0,
    );
    const summaryTokens = summaries.reduce(
      (n, e) => (e.type === 'conversation_summary' ? n + e.inputTokens + e.outputTokens : n),
      0,
    );
    expect(ledger?.tokensUsed).toBe(modelTokens + summaryTokens);
    expect(await h.runs.openReservations(runId)).toEqual({});
  });

  it('an empty summary is a named error and replaces nothing', { timeout: 60_000 }, async () => {
    h.model.use(reading(() => ''));
    const { runId, execution } = await h.run('long-read', { report: 'R-2' });
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('RunFailed');
    const trail = await h.runs.listEvents(runId);
    expect(trail.filter((e) => e.type === 'conversation_summary')).toEqual([]);
    expect(JSON.stringify(trail.find((e) => e.type === 'run_finished'))).toContain('EmptySummaryError');
    expect(await h.runs.openReservations(runId)).toEqual({});
  });

  it('an empty summary after a good one leaves the good one standing', { timeout: 60_000 }, async () => {
    let folds = 0;
    h.model.use(reading(() => (++folds === 1 ? 'Figures so far: page 1 gives 37.' : '   ')));
    const { runId, execution } = await h.run('long-read', { report: 'R-3' });
    expect(execution.status).toBe('FAILED');
    const trail = await h.runs.listEvents(runId);
    const summaries = trail.filter((e) => e.type === 'conversation_summary');
    expect(summaries).toHaveLength(1);
    expect(summaries[0]).toMatchObject({ text: 'Figures so far: page 1 gives 37.' });
    expect(JSON.stringify(trail.find((e) => e.type === 'run_finished'))).toContain('EmptySummaryError');
    // Both summary calls were paid: the empty one was settled too, nothing stays reserved.
    const summaryCalls = h.model.requests.filter(
      (r) => r.conversation.startsWith(runId) && r.conversation.endsWith(':summary'),
    );
    expect(summaryCalls).toHaveLength(2);
    expect(await h.runs.openReservations(runId)).toEqual({});
  });
});
