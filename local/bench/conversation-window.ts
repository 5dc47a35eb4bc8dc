/**
 * The conversation window on a 60-turn conversation (a tool output of ~1.4 KB
 * a turn): the largest model call before and after the first fold against
 * the window's threshold, the summary calls it cost, and what the same
 * conversation would send without a window (its last call's history). Sizes
 * are request bytes (system, tools, messages), the upper bound the window
 * and the ledger count as tokens. The task text is asserted in every call.
 */

import { agent, defineAgent, defineTool, defineWorkflow } from '../../state-machines/index.js';
import { AgentHarness } from '../../test/support/agent-harness.js';
import { responder, text, toolUse } from '../scripted-model/index.js';
import type { RecordedRequest } from '../scripted-model/types.js';
import { table } from './table.js';

const THRESHOLD = 8_000;
const TURNS = 60;
const TASK = 'Read the report page by page and list every figure it gives.';

export async function benchConversationWindow(): Promise<{ text: string; json: Record<string, unknown> }> {
  const readPage = defineTool({
    name: 'read_page',
    description: 'Read one page of the report.',
    input: {
      type: 'object',
      properties: { page: { type: 'integer', minimum: 1 } },
      required: ['page'],
      additionalProperties: false,
    } as const,
    access: 'read',
    run: async ({ page }) =>
      `Page ${page}: the figure on this page is ${page * 37}. ${'Background text of the page. '.repeat(45)}`,
  });
  const workflow = defineWorkflow({
    name: 'long-read',
    description: 'a 60-turn conversation',
    input: {
      type: 'object',
      properties: { report: { type: 'string' } },
      required: ['report'],
      additionalProperties: false,
    } as const,
    steps: [
      agent('read', {
        agent: defineAgent({
          name: 'reader',
          model: 'claude-haiku-4-5',
          system: 'You read reports.',
          tools: [readPage],
          window: { maxTokens: THRESHOLD, keepTurns: 3 },
          maxIdenticalCalls: 1,
        }),
        prompt: () => TASK,
      }),
    ],
    limits: { maxSteps: 70, maxTokens: 3_000_000, maxCostUsd: 100 },
  });
  const h = await AgentHarness.start([workflow]);
  try {
    h.model.use(
      responder('long-read', (req: RecordedRequest) => {
        if (req.conversation.endsWith(':summary'))
          return text('Figures so far: one per page, 37 times the page number.');
        const last = JSON.stringify(req.body.messages.at(-1)?.content ?? '');
        const page = Number(/Page (\d+):/.exec(last)?.[1] ?? 0) + 1;
        return page <= TURNS ? toolUse('read_page', { page }) : text('Listed every figure.');
      }),
    );
    const { runId, execution } = await h.run('long-read', { report: 'R-1' });
    if (execution.status !== 'SUCCEEDED') throw new Error(`the 60-turn run ended ${execution.status}`);
    const size = (r: RecordedRequest) =>
      Buffer.byteLength(JSON.stringify(r.body.system ?? '')) +
      Buffer.byteLength(JSON.stringify(r.body.tools ?? [])) +
      r.body.messages.reduce((n, m) => n + Buffer.byteLength(JSON.stringify(m.content)), 0);
    const calls = h.model.requests.filter((r) => !r.conversation.endsWith(':summary'));
    for (const c of calls)
      if (!String(c.body.messages[0]?.content).startsWith(TASK))
        throw new Error('a call went out without the task text');
    const fold = calls.findIndex((c) =>
      String(c.body.messages[0]?.content).includes('<conversation_summary'),
    );
    const before = calls.slice(0, Math.max(fold, 0)).map(size);
    const after = calls.slice(Math.max(fold, 0)).map(size);
    const trail = await h.runs.listEvents(runId);
    const summaries = trail.filter((e) => e.type === 'conversation_summary');
    const summaryTokens = summaries.reduce(
      (n, e) => (e.type === 'conversation_summary' ? n + e.inputTokens + e.outputTokens : n),
      0,
    );
    const events = await h.runs.listMessages(runId, 'read');
    const unwindowed = events.reduce((n, m) => n + Buffer.byteLength(JSON.stringify(m.message.content)), 0);
    const maxAfter = Math.max(...after);
    const textOut = table(
      `Conversation window: ${TURNS}-turn conversation, threshold ${THRESHOLD} (request bytes counted as tokens; task text asserted in all ${calls.length} calls)`,
      ['figure', 'value'],
      [
        ['largest call before the first fold', Math.max(...before, 0)],
        ['largest call after the first fold', maxAfter],
        ['first fold at call', fold + 1],
        ['summary calls (each reserved and settled on the ledger)', summaries.length],
        ['summary tokens', summaryTokens],
        ['history without a window at the last call (bytes)', unwindowed],
      ],
    );
    return {
      text: textOut,
      json: {
        windowMaxCallTokensAfterFold: maxAfter,
        windowThreshold: THRESHOLD,
        windowSummaryCalls: summaries.length,
      },
    };
  } finally {
    await h.close();
  }
}
