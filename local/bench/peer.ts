/**
 * Chaperone's local loop against a peer: LangGraph JS with its SQLite
 * checkpointer, on the same workload. Both run an agent that calls one no-op
 * tool per turn for N turns, against the same scripted model on loopback
 * through the real Anthropic SDK, and both keep what they need to resume on
 * disk at every step (Chaperone: the execution journal and the local
 * DynamoDB's write log; LangGraph: a checkpoint per super-step in a WAL-mode
 * SQLite file with `durability: 'sync'`), at equal durability, compared at
 * both levels (`local/durability.ts`):
 * - `process` (both sides' defaults): every step written before the next acts
 *   on it, nothing synced per step; both survive a kill -9 at any step.
 *   better-sqlite3 builds SQLite with WAL `synchronous` NORMAL, which syncs only
 *   at WAL checkpoints. The headline figures.
 * - `machine`: every step also on the disk before the next acts on it
 *   (Chaperone `durability: 'machine'`; SQLite `synchronous` FULL, a WAL sync per
 *   commit); both survive a power cut. Fewer, shorter rounds.
 * The two alternate in every round, in turns (A B, then B A), so a change in
 * machine load hits both and neither always runs on what the other left
 * behind; each ratio is the median of the rounds' own (paired) ratios.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { SqliteSaver } from '@langchain/langgraph-checkpoint-sqlite';
import { ulid } from 'ulid';
import { agent, defineAgent, defineTool, defineWorkflow } from '../../state-machines/index.js';
import { AgentHarness } from '../../test/support/agent-harness.js';
import type { Durability } from '../durability.js';
import type { ScriptedModel } from '../scripted-model/index.js';
import { loopInput, loopScript } from './orchestration.js';
import { round, stats, table } from './table.js';

const MODEL = 'claude-haiku-4-5';
const SYSTEM = 'Call noop until told to stop.';
const NOOP_SCHEMA = {
  type: 'object',
  properties: { i: { type: 'integer' } },
  required: ['i'],
  additionalProperties: false,
} as const;

/** The tool both sides run: nothing, at once. */
const noopRun = async ({ i }: { i: number }) => ({ i });

const noop = defineTool({
  name: 'noop',
  description: 'Does nothing, at once.',
  input: NOOP_SCHEMA,
  access: 'read',
  run: noopRun,
});

const peerWorkflow = defineWorkflow({
  name: 'peer-loop',
  description: 'The peer comparison: an agent loop whose model and tool answer at once.',
  input: loopInput,
  steps: [
    agent('loop', {
      agent: defineAgent({ name: 'spinner', model: MODEL, system: SYSTEM, tools: [noop], maxTokens: 64 }),
      prompt: ({ input }) => `iterations ${(input as { iterations: number }).iterations}`,
    }),
  ],
  limits: { maxSteps: 50, maxTokens: 50_000_000, maxCostUsd: 1_000, timeLimitSeconds: 600 },
});

/** Turn i calls noop until the last of the requested iterations, which answers: the same for both. */
const script = loopScript('peer-loop');

/** One side of the comparison: runs one execution of `iterations` turns to its end. */
interface Contender {
  name: string;
  run(iterations: number): Promise<void>;
  close(): Promise<void>;
}

async function chaperone(durability: Durability): Promise<{ contender: Contender; model: ScriptedModel }> {
  const h = await AgentHarness.start([peerWorkflow], {}, { durableExecutions: true, durability });
  h.model.use(script);
  return {
    model: h.model,
    contender: {
      name: 'Chaperone',
      async run(iterations) {
        const { runId, execution } = await h.run('peer-loop', { iterations });
        if (execution.status !== 'SUCCEEDED')
          throw new Error(
            `peer bench: Chaperone run ${runId} ended ${execution.status}: ${execution.error ?? ''} ${execution.cause ?? ''}`,
          );
      },
      close: () => h.close(),
    },
  };
}

/**
 * The LangGraph agent as its docs build one from scratch: a messages state,
 * an `agent` node calling the model, a `tools` node running the tool calls,
 * and a conditional edge between them; a checkpoint per step in SQLite.
 */
function langGraph(modelUrl: string, durability: Durability): Contender {
  const dir = mkdtempSync(join(tmpdir(), 'chaperone-peer-'));
  const checkpointer = SqliteSaver.fromConnString(join(dir, 'checkpoints.sqlite'));
  // NORMAL is better-sqlite3's build default; FULL syncs the WAL at every commit.
  checkpointer.db.pragma(`synchronous = ${durability === 'machine' ? 'FULL' : 'NORMAL'}`);
  const client = new Anthropic({ apiKey: 'scripted-model-key', baseURL: modelUrl, maxRetries: 0 });
  const State = Annotation.Root({
    messages: Annotation<Anthropic.MessageParam[]>({
      reducer: (left, right) => left.concat(right),
      default: () => [],
    }),
  });
  const toolUses = (message: Anthropic.MessageParam | undefined): Anthropic.ToolUseBlockParam[] => {
    const blocks: Anthropic.ContentBlockParam[] = Array.isArray(message?.content) ? message.content : [];
    return blocks.filter((b): b is Anthropic.ToolUseBlockParam => b.type === 'tool_use');
  };
  const graph = new StateGraph(State)
    .addNode('agent', async (state) => {
      const reply = await client.messages.create({
        model: MODEL,
        max_tokens: 64,
        system: SYSTEM,
        tools: [
          {
            name: 'noop',
            description: 'Does nothing, at once.',
            input_schema: { ...NOOP_SCHEMA, required: ['i'] },
          },
        ],
        messages: state.messages,
      });
      return { messages: [{ role: 'assistant' as const, content: reply.content }] };
    })
    .addNode('tools', async (state) => {
      const results: Anthropic.ToolResultBlockParam[] = [];
      for (const call of toolUses(state.messages.at(-1))) {
        const output = await noopRun(call.input as { i: number });
        results.push({ type: 'tool_result', tool_use_id: call.id, content: JSON.stringify(output) });
      }
      return { messages: [{ role: 'user' as const, content: results }] };
    })
    .addEdge(START, 'agent')
    .addConditionalEdges('agent', (state) => (toolUses(state.messages.at(-1)).length > 0 ? 'tools' : END), [
      'tools',
      END,
    ])
    .addEdge('tools', 'agent')
    .compile({ checkpointer });
  return {
    name: 'LangGraph',
    async run(iterations) {
      const thread = ulid();
      const out = await graph.invoke(
        { messages: [{ role: 'user', content: `iterations ${iterations}` }] },
        { configurable: { thread_id: thread }, durability: 'sync', recursionLimit: 4 * iterations + 10 },
      );
      // The user's prompt, then a model turn and a tool result per iteration but the last.
      if (out.messages.length !== 2 * iterations)
        throw new Error(
          `peer bench: LangGraph thread ${thread} ended with ${out.messages.length} messages, expected ${2 * iterations}`,
        );
    },
    async close() {
      checkpointer.db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One round's figures for one side. */
interface Round {
  msPerIteration: number;
  /** This process's CPU time (user + system) per iteration: what machine load does not inflate. */
  cpuMsPerIteration: number;
  executionsPerSecond: number;
}

/** Sequential runs of one side: ms per iteration, and this process's CPU per iteration. */
async function sequential(c: Contender, o: { iterations: number; runs: number }) {
  const each: number[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < o.runs; i++) {
    const started = performance.now();
    await c.run(o.iterations);
    each.push((performance.now() - started) / o.iterations);
  }
  const used = process.cpuUsage(cpu);
  return {
    msPerIteration: stats(each).mean,
    cpuMsPerIteration: (used.user + used.system) / 1000 / (o.runs * o.iterations),
  };
}

/** `concurrent` runs of one side at once: executions per second. */
async function concurrently(c: Contender, o: { iterations: number; concurrent: number }): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: o.concurrent }, () => c.run(o.iterations)));
  return o.concurrent / ((performance.now() - started) / 1000);
}

/** Both sides at one durability level: their rounds, alternating, and the medians. */
async function compare(
  durability: Durability,
  options: { iterations: number; runs: number; concurrent: number; rounds: number; warmupRuns: number },
) {
  const { contender: ours, model } = await chaperone(durability);
  const peer = langGraph(model.url, durability);
  try {
    // Warm-up, alike on both sides: module loading, first connections, table and statement
    // caches, and the JIT (both keep getting faster for their first few dozen iterations).
    for (let i = 0; i < options.warmupRuns; i++) {
      await ours.run(options.iterations);
      await peer.run(options.iterations);
    }
    const rounds: Array<{ chaperone: Round; langgraph: Round }> = [];
    for (let r = 0; r < options.rounds; r++) {
      // The order alternates (A B, then B A) so neither side always runs on what the other
      // left behind (garbage to collect, a warm or cold cache, a change in the machine's load),
      // and each side's concurrent batch runs next to the other's.
      const [first, second] = r % 2 === 0 ? [ours, peer] : [peer, ours];
      const seq = new Map<Contender, { msPerIteration: number; cpuMsPerIteration: number }>();
      const eps = new Map<Contender, number>();
      for (const c of [first, second]) seq.set(c, await sequential(c, options));
      for (const c of [second, first]) eps.set(c, await concurrently(c, options));
      const of = (c: Contender): Round => ({
        ...(seq.get(c) as { msPerIteration: number; cpuMsPerIteration: number }),
        executionsPerSecond: eps.get(c) as number,
      });
      rounds.push({ chaperone: of(ours), langgraph: of(peer) });
    }
    const median = (side: 'chaperone' | 'langgraph', k: keyof Round) =>
      stats(rounds.map((x) => x[side][k])).p50;
    /** The median over rounds of each round's own ratio: paired, so a change in load between rounds cancels out. */
    const ratio = (k: keyof Round) => stats(rounds.map((x) => x.chaperone[k] / x.langgraph[k])).p50;
    return {
      rounds,
      ms: {
        chaperone: median('chaperone', 'msPerIteration'),
        langgraph: median('langgraph', 'msPerIteration'),
      },
      cpu: {
        chaperone: median('chaperone', 'cpuMsPerIteration'),
        langgraph: median('langgraph', 'cpuMsPerIteration'),
      },
      eps: {
        chaperone: median('chaperone', 'executionsPerSecond'),
        langgraph: median('langgraph', 'executionsPerSecond'),
      },
      ratios: {
        ms: ratio('msPerIteration'),
        cpu: ratio('cpuMsPerIteration'),
        eps: ratio('executionsPerSecond'),
      },
    };
  } finally {
    await peer.close();
    await ours.close();
  }
}

/**
 * `npm run bench`'s peer section: ms per iteration (sequential runs) and
 * throughput (`concurrent` runs at once) of Chaperone and LangGraph, each
 * round running both, with the ratios Chaperone ÷ LangGraph (below 1 for ms
 * and above 1 for throughput is Chaperone ahead). Figures are medians over
 * rounds. The headline figures are at `process` durability, both sides'
 * defaults; `machineRounds` more rounds (of `machineRuns` runs) compare them
 * at `machine` durability, under `peerMachine`.
 */
export async function benchPeer(options: {
  iterations: number;
  runs: number;
  concurrent: number;
  rounds: number;
  /** Runs of each side before the first round. @default 5 */
  warmupRuns?: number;
  /** Rounds at `machine` durability (0: none). @default 3 */
  machineRounds?: number;
  /** Sequential runs per side in each of those rounds. @default 3 */
  machineRuns?: number;
}): Promise<{ text: string; json: Record<string, unknown> }> {
  const load = loadavg();
  const warmupRuns = options.warmupRuns ?? 5;
  const machineRounds = options.machineRounds ?? 3;
  const { rounds, ms, cpu, eps, ratios } = await compare('process', { ...options, warmupRuns });
  const machine =
    machineRounds > 0
      ? await compare('machine', {
          ...options,
          runs: options.machineRuns ?? 3,
          rounds: machineRounds,
          warmupRuns: 2,
        })
      : undefined;
  const json = {
    peerRatioMsPerIteration: round(ratios.ms, 2),
    peerRatioThroughput: round(ratios.eps, 2),
    peerChaperoneMsPerIteration: round(ms.chaperone, 2),
    peerLangGraphMsPerIteration: round(ms.langgraph, 2),
    peerChaperoneExecutionsPerSecond: round(eps.chaperone, 2),
    peerLangGraphExecutionsPerSecond: round(eps.langgraph, 2),
    peerChaperoneCpuMsPerIteration: round(cpu.chaperone, 2),
    peerLangGraphCpuMsPerIteration: round(cpu.langgraph, 2),
    peerDurability:
      'process: each step written before it is acted on (Chaperone) / SQLite WAL synchronous=NORMAL (LangGraph); both survive a kill -9',
    peerRounds: rounds.map((x) => ({
      chaperoneMsPerIteration: round(x.chaperone.msPerIteration, 2),
      langgraphMsPerIteration: round(x.langgraph.msPerIteration, 2),
      chaperoneCpuMsPerIteration: round(x.chaperone.cpuMsPerIteration, 2),
      langgraphCpuMsPerIteration: round(x.langgraph.cpuMsPerIteration, 2),
      chaperoneExecutionsPerSecond: round(x.chaperone.executionsPerSecond, 2),
      langgraphExecutionsPerSecond: round(x.langgraph.executionsPerSecond, 2),
    })),
    ...(machine
      ? {
          peerMachine: {
            durability:
              'machine: each step fdatasynced before it is acted on (Chaperone) / SQLite WAL synchronous=FULL (LangGraph); both survive a power cut',
            ratioMsPerIteration: round(machine.ratios.ms, 2),
            ratioThroughput: round(machine.ratios.eps, 2),
            chaperoneMsPerIteration: round(machine.ms.chaperone, 2),
            langgraphMsPerIteration: round(machine.ms.langgraph, 2),
            chaperoneExecutionsPerSecond: round(machine.eps.chaperone, 2),
            langgraphExecutionsPerSecond: round(machine.eps.langgraph, 2),
          },
        }
      : {}),
    peerLoadAverage: load.map((l) => round(l, 2)),
  };
  const n = options.iterations;
  const perRound = table(
    `Against LangGraph JS (SQLite checkpointer, durability 'sync'), both at process durability (each step written, not synced; both survive a kill -9): ${n} iterations per run, ${options.runs} sequential runs and ${options.concurrent} concurrent runs per side per round, ${options.rounds} rounds, the order alternating (A B, B A), after ${warmupRuns} warm-up runs per side; same scripted model, same Anthropic SDK; load average ${load.map((l) => l.toFixed(2)).join(' ')}`,
    [
      'round',
      'Chaperone ms/iter',
      'LangGraph ms/iter',
      'Chaperone CPU ms/iter',
      'LangGraph CPU ms/iter',
      `Chaperone ${options.concurrent}×${n} exec/s`,
      `LangGraph ${options.concurrent}×${n} exec/s`,
    ],
    rounds.map((x, i) => [
      i + 1,
      round(x.chaperone.msPerIteration, 1),
      round(x.langgraph.msPerIteration, 1),
      round(x.chaperone.cpuMsPerIteration, 1),
      round(x.langgraph.cpuMsPerIteration, 1),
      round(x.chaperone.executionsPerSecond, 2),
      round(x.langgraph.executionsPerSecond, 2),
    ]),
  );
  const rows: Array<Array<string | number>> = [
    ['ms per iteration', round(ms.chaperone, 1), round(ms.langgraph, 1), json.peerRatioMsPerIteration],
    [
      'CPU ms per iteration (this process)',
      json.peerChaperoneCpuMsPerIteration,
      json.peerLangGraphCpuMsPerIteration,
      round(ratios.cpu, 2),
    ],
    [
      `${options.concurrent}×${n} throughput (executions/s)`,
      round(eps.chaperone, 2),
      round(eps.langgraph, 2),
      json.peerRatioThroughput,
    ],
  ];
  if (machine)
    rows.push(
      [
        `ms per iteration, machine durability (${machineRounds} rounds)`,
        round(machine.ms.chaperone, 1),
        round(machine.ms.langgraph, 1),
        round(machine.ratios.ms, 2),
      ],
      [
        `${options.concurrent}×${n} throughput, machine durability`,
        round(machine.eps.chaperone, 2),
        round(machine.eps.langgraph, 2),
        round(machine.ratios.eps, 2),
      ],
    );
  const summary = table(
    "Chaperone ÷ LangGraph (figures: medians over rounds; ratios: the median of each round's own ratio; ms ≤ 1.0 and throughput ≥ 1.0 is at least as fast; machine durability: both sync every step, SQLite synchronous=FULL)",
    ['measure', 'Chaperone', 'LangGraph', 'ratio'],
    rows,
  );
  return { text: [perRound, summary].join('\n'), json };
}
