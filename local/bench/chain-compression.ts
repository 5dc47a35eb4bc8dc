/**
 * Compression between steps: a 10-step chain where the last step needs one
 * fact from each earlier step. Each of steps 1–9 writes ~2.2 KB; forwarding
 * everything hands step 10 all of it, while with declared compression
 * (`passes: { fact }`, `needs: ['s1.fact', …]`) only the nine facts travel.
 * Measured: the input tokens of step 10's model call (the scripted model's
 * count), and every needed fact is asserted to be in what step 10 receives.
 */
import type { StoredTrailEvent } from '../../lambdas/core/run-records.js';
import { agent, defineAgent, defineWorkflow, type Workflow } from '../../state-machines/index.js';
import { AgentHarness } from '../../test/support/agent-harness.js';
import { responder, text, toolUse } from '../scripted-model/index.js';
import type { RecordedRequest } from '../scripted-model/types.js';
import { round, table } from './table.js';

const STEPS = 10;
const input = {
  type: 'object',
  properties: { topic: { type: 'string', maxLength: 100 } },
  required: ['topic'],
  additionalProperties: false,
} as const;
const passes = {
  type: 'object',
  properties: { fact: { type: 'string', maxLength: 200 } },
  required: ['fact'],
  additionalProperties: false,
} as const;

/** The fact step `i` finds. */
export const factOf = (i: number): string =>
  `Finding ${i}: the code for part ${i} is K${i}-${(i * 7919) % 10_000}.`;

/** Step `i`'s full write-up: ~2.2 KB of working with its fact in the middle. */
export function writeUpOf(i: number): string {
  const filler = `Step ${i} considered the sources, compared the figures, and noted what is settled and what is not. `;
  const half = filler.repeat(11);
  return `${half}${factOf(i)} ${half}`;
}

/** The chain, compressed (each step passes only its fact) or forwarding every output whole. */
export function chainWorkflow(compressed: boolean): Workflow {
  const steps = Array.from({ length: STEPS }, (_, k) => {
    const i = k + 1;
    const a = defineAgent({
      name: `step${i}`,
      model: 'claude-haiku-4-5',
      system: `You are step ${i} of a chain.`,
      tools: [],
      maxTokens: 1024,
    });
    const earlier = Array.from({ length: i - 1 }, (_, j) => `s${j + 1}`);
    if (i < STEPS)
      return agent(`s${i}`, {
        agent: a,
        prompt: ({ input: inp }) => `Work on part ${i} of ${(inp as { topic: string }).topic}.`,
        ...(compressed ? { passes } : {}),
      });
    return agent(`s${i}`, {
      agent: a,
      needs: compressed ? earlier.map((s) => `${s}.fact`) : earlier,
      prompt: ({ outputs }) =>
        `Combine what the earlier steps found:\n${earlier
          .map((s) => {
            const o = outputs[s];
            return `${s}: ${typeof o === 'string' ? o : JSON.stringify(o)}`;
          })
          .join('\n')}`,
    });
  });
  return defineWorkflow({
    name: compressed ? 'chain-compressed' : 'chain-forward-all',
    description: '10 steps, the last needing one fact from each',
    input,
    steps,
    limits: { maxSteps: 40, maxTokens: 400_000 },
  });
}

/** The scripted model's answers: step i writes its write-up (and, compressed, passes its fact). */
export const chainResponder = (compressed: boolean) =>
  responder('chain', (req: RecordedRequest) => {
    const step = Number(/:s(\d+)$/.exec(req.conversation)?.[1] ?? 0);
    if (step === STEPS) return text('All nine findings combined.');
    return compressed && req.turnIndex === 0
      ? toolUse('pass_on', { fact: factOf(step) }, { text: writeUpOf(step) })
      : text(writeUpOf(step));
  });

/** Runs the chain; returns step 10's first user message and its model call's input tokens. */
export async function runChain(
  h: AgentHarness,
  compressed: boolean,
): Promise<{ status?: string; lastInput: string; lastTokens: number; trail: StoredTrailEvent[] }> {
  h.model.use(chainResponder(compressed));
  const { runId, execution } = await h.run(compressed ? 'chain-compressed' : 'chain-forward-all', {
    topic: 'the audit',
  });
  const last = h.model.requests.find((r) => r.conversation.endsWith(`:s${STEPS}`));
  const content = last?.body.messages[0]?.content;
  const trail = await h.runs.listEvents(runId);
  const call = trail.find((e) => e.type === 'model_call' && e.step === `s${STEPS}` && e.status === 'ok');
  return {
    ...(execution.status ? { status: execution.status } : {}),
    lastInput: typeof content === 'string' ? content : JSON.stringify(content ?? ''),
    lastTokens: call?.type === 'model_call' ? call.inputTokens : 0,
    trail,
  };
}

export async function benchChainCompression(): Promise<{ text: string; json: Record<string, unknown> }> {
  const h = await AgentHarness.start([chainWorkflow(true), chainWorkflow(false)]);
  try {
    const full = await runChain(h, false);
    const compressed = await runChain(h, true);
    for (const r of [full, compressed]) {
      if (r.status !== 'SUCCEEDED') throw new Error(`the chain run ended ${r.status}`);
      for (let i = 1; i < STEPS; i++)
        if (!r.lastInput.includes(factOf(i))) throw new Error(`step ${STEPS} did not receive ${factOf(i)}`);
    }
    const ratio = compressed.lastTokens / full.lastTokens;
    const text = table(
      `Compression between steps: tokens sent at step ${STEPS} of a ${STEPS}-step chain (each earlier step writes ~2.2 KB; every needed fact asserted present)`,
      [
        'forwarding',
        `step ${STEPS} input tokens`,
        `step ${STEPS} task bytes`,
        'share of forwarding everything',
      ],
      [
        ['every output whole', full.lastTokens, Buffer.byteLength(full.lastInput), 1],
        [
          'declared passes (one fact each)',
          compressed.lastTokens,
          Buffer.byteLength(compressed.lastInput),
          round(ratio, 3),
        ],
      ],
    );
    return { text, json: { chainLastStepTokenRatio: round(ratio, 4) } };
  } finally {
    await h.close();
  }
}
