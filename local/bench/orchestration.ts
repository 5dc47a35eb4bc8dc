import { agent, defineAgent, defineTool, defineWorkflow } from '../../state-machines/index.js';
import { AgentHarness } from '../../test/support/agent-harness.js';
import { responder, text, toolUse, toolUses } from '../scripted-model/index.js';
import { round, stats, table } from './table.js';

/** The bench loops' tool: does nothing, at once (shared by the sections that drive the same loop). */
export const noop = defineTool({
  name: 'noop',
  description: 'Does nothing, at once.',
  input: {
    type: 'object',
    properties: { i: { type: 'integer' } },
    required: ['i'],
    additionalProperties: false,
  } as const,
  access: 'read',
  run: async ({ i }) => ({ i }),
});

/** The bench loops' agent: calls noop until the scripted model answers. */
export const spinner = defineAgent({
  name: 'spinner',
  model: 'claude-haiku-4-5',
  system: 'Call noop until told to stop.',
  tools: [noop],
  maxTokens: 64,
});

/** The input of every bench loop: how many iterations the scripted model runs before it answers. */
export const loopInput = {
  type: 'object',
  properties: { iterations: { type: 'integer', minimum: 1, maximum: 40 } },
  required: ['iterations'],
  additionalProperties: false,
} as const;

/** A workflow of one `spinner` step, asked for `{ iterations }` (the loop the bench sections drive). */
export const loopWorkflow = (name: string, description: string) =>
  defineWorkflow({
    name,
    description,
    input: loopInput,
    steps: [
      agent('loop', {
        agent: spinner,
        prompt: ({ input }) => `iterations ${(input as { iterations: number }).iterations}`,
      }),
    ],
    limits: { maxSteps: 50, maxTokens: 50_000_000, maxCostUsd: 1_000, timeLimitSeconds: 600 },
  });

const benchWorkflow = loopWorkflow(
  'bench-loop',
  'An agent loop whose model and tool answer at once: what is left is orchestration.',
);

const iterationsAsked = (request: { body: { messages: Array<{ content: unknown }> } }) => {
  const first = request.body.messages[0]?.content;
  return Number(/iterations (\d+)/.exec(typeof first === 'string' ? first : JSON.stringify(first))?.[1] ?? 1);
};

/** The model of a loop workflow `name`: turn i calls noop until the last of the requested iterations, which answers. */
export const loopScript = (name: string) =>
  responder(name, (request) =>
    request.turnIndex < iterationsAsked(request) - 1
      ? toolUse('noop', { i: request.turnIndex })
      : text('done'),
  );

const script = loopScript('bench-loop');

/** The same loop with two noop calls in every turn: the Map path. */
const fanScript = responder('bench-loop', (request) =>
  request.turnIndex < iterationsAsked(request) - 1
    ? toolUses(
        { name: 'noop', input: { i: request.turnIndex } },
        { name: 'noop', input: { i: request.turnIndex + 1000 } },
      )
    : text('done'),
);

interface RunFigures {
  ms: number;
  transitions: number;
  invocations: Record<string, number>;
}

/**
 * Orchestration overhead per agent iteration through the real parts (compiled
 * state machine in the local interpreter, handlers, dynalite, the Anthropic
 * SDK against the scripted model). The model and the tool answer at once, so
 * the wall time is all overhead. An iteration is one model call (agent step)
 * plus, for all but the last, one no-op tool call (tool step).
 */
export async function benchOrchestration(options: {
  iterations: number;
  runs: number;
  concurrent: number;
  rounds: number;
}): Promise<{ text: string; json: Record<string, unknown> }> {
  const h = await AgentHarness.start([benchWorkflow]);
  try {
    h.model.use(script);
    const one = async (iterations: number): Promise<RunFigures> => {
      const before = new Map(h.invocations);
      const started = performance.now();
      const { runId, execution } = await h.run('bench-loop', { iterations });
      const ms = performance.now() - started;
      if (execution.status !== 'SUCCEEDED')
        throw new Error(
          `bench run ${runId} ended ${execution.status}: ${execution.error ?? ''} ${execution.cause ?? ''}`,
        );
      const invocations: Record<string, number> = {};
      for (const [fn, count] of h.invocations) invocations[fn] = count - (before.get(fn) ?? 0);
      return {
        ms,
        transitions: await stateTransitions(
          h,
          `arn:aws:states:us-east-1:000000000000:execution:bench-loop:${runId}`,
        ),
        invocations,
      };
    };

    await one(options.iterations); // warm-up: module loading, first connections
    const loops: RunFigures[] = [];
    for (let i = 0; i < options.runs; i++) loops.push(await one(options.iterations));
    const singles: RunFigures[] = [];
    for (let i = 0; i < options.runs; i++) singles.push(await one(1));

    const n = options.iterations;
    const perIter = stats(loops.map((r) => r.ms / n));
    const loopMs = stats(loops.map((r) => r.ms)).mean;
    const singleMs = stats(singles.map((r) => r.ms)).mean;
    const transitions = loops[0]?.transitions ?? 0;
    const singleTransitions = singles[0]?.transitions ?? 0;
    const fns = ['agentStep', 'toolStep', 'finish', 'codeStep', 'approvalRequest'];
    const invocations = (r: RunFigures | undefined) => fns.reduce((s, f) => s + (r?.invocations[f] ?? 0), 0);

    const overhead = table(
      `Orchestration overhead per agent iteration (${n} iterations per run: ${n} model calls, ${n - 1} no-op tool calls; ${options.runs} runs after a warm-up; instant model and tool)`,
      ['measure', 'per run', 'per iteration'],
      [
        ['wall ms (mean)', round(loopMs, 1), round(perIter.mean, 1)],
        [
          'wall ms (p50 / p95 of runs)',
          `${round(perIter.p50 * n, 1)} / ${round(perIter.p95 * n, 1)}`,
          `${round(perIter.p50, 1)} / ${round(perIter.p95, 1)}`,
        ],
        ['state transitions (*StateEntered)', transitions, round(transitions / n, 2)],
        ['Lambda invocations (all)', invocations(loops[0]), round(invocations(loops[0]) / n, 2)],
        ...fns
          .filter((f) => (loops[0]?.invocations[f] ?? 0) > 0)
          .map((f): [string, number, number] => [
            `  ${f}`,
            loops[0]?.invocations[f] ?? 0,
            round((loops[0]?.invocations[f] ?? 0) / n, 2),
          ]),
      ],
    );
    const marginal = table(
      `Fixed and marginal cost (a 1-iteration run against a ${n}-iteration run)`,
      ['measure', `1-iteration run`, `${n}-iteration run`, 'marginal per extra iteration'],
      [
        ['wall ms (mean)', round(singleMs, 1), round(loopMs, 1), round((loopMs - singleMs) / (n - 1), 1)],
        [
          'state transitions',
          singleTransitions,
          transitions,
          round((transitions - singleTransitions) / (n - 1), 2),
        ],
        [
          'Lambda invocations',
          invocations(singles[0]),
          invocations(loops[0]),
          round((invocations(loops[0]) - invocations(singles[0])) / (n - 1), 2),
        ],
      ],
    );

    const rows: Array<Array<string | number>> = [];
    for (let round_ = 1; round_ <= options.rounds; round_++) {
      const started = performance.now();
      const runs = await Promise.all(Array.from({ length: options.concurrent }, () => one(n)));
      const seconds = (performance.now() - started) / 1000;
      rows.push([
        round_,
        options.concurrent,
        round(seconds, 2),
        round(options.concurrent / seconds, 2),
        round((options.concurrent * n) / seconds, 1),
        round(stats(runs.map((r) => r.ms / n)).mean, 1),
      ]);
    }
    const concurrency = table(
      `Throughput with ${options.concurrent} concurrent runs of ${n} iterations`,
      ['round', 'runs', 'seconds', 'executions/s', 'iterations/s', 'ms per iteration (mean of runs)'],
      rows,
    );
    return {
      text: [overhead, marginal, concurrency].join('\n'),
      json: {
        chaperoneMsPerIteration: round(perIter.mean, 2),
        chaperoneThroughputExecutionsPerSecond: round(stats(rows.map((r) => Number(r[3]))).mean, 2),
      },
    };
  } finally {
    await h.close();
  }
}

/**
 * What AWS would bill per agent iteration, counted on the real parts: state
 * transitions (every state entered, from the execution history) and the
 * requests that reached DynamoDB (a counting proxy in front of dynalite), for
 * turns with one tool call and with two; and the conversation bytes read
 * (Query answers) per run as runs get longer. Per iteration is the marginal
 * figure between a 10- and a 20-iteration run, so the run's fixed start and
 * end are not spread over it.
 */
export async function benchAwsWork(): Promise<{ text: string; json: Record<string, unknown> }> {
  const h = await AgentHarness.start([benchWorkflow], {}, { faults: true });
  const proxy = h.faults;
  if (!proxy) throw new Error('the counting proxy did not start');
  try {
    const measure = async (iterations: number) => {
      proxy.requests.length = 0;
      const { runId, execution } = await h.run('bench-loop', { iterations });
      if (execution.status !== 'SUCCEEDED') throw new Error(`bench run ${runId} ended ${execution.status}`);
      const requests = [...proxy.requests];
      const byOperation: Record<string, number> = {};
      for (const r of requests) byOperation[r.operation] = (byOperation[r.operation] ?? 0) + 1;
      return {
        requests: requests.length,
        byOperation,
        queryBytes: requests.filter((r) => r.operation === 'Query').reduce((s, r) => s + r.responseBytes, 0),
        readBytes: requests
          .filter((r) => ['Query', 'GetItem', 'BatchGetItem'].includes(r.operation))
          .reduce((s, r) => s + r.responseBytes, 0),
        transitions: await stateTransitions(
          h,
          `arn:aws:states:us-east-1:000000000000:execution:bench-loop:${runId}`,
        ),
      };
    };
    h.model.use(script);
    await measure(2); // warm-up: the containers' first reads
    const byLength = new Map<number, Awaited<ReturnType<typeof measure>>>();
    for (const n of [1, 5, 10, 20, 40]) byLength.set(n, await measure(n));
    h.model.use(fanScript);
    const fan10 = await measure(10);
    const fan20 = await measure(20);
    const at = (n: number) => byLength.get(n) as Awaited<ReturnType<typeof measure>>;
    const perIteration = (a: { requests: number; transitions: number }, b: typeof a) => ({
      requests: (b.requests - a.requests) / 10,
      transitions: (b.transitions - a.transitions) / 10,
    });
    const single = perIteration(at(10), at(20));
    const fan = perIteration(fan10, fan20);
    const ops = Object.keys({ ...at(10).byOperation, ...at(20).byOperation }).sort();
    const work = table(
      'AWS work per agent iteration (marginal between a 10- and a 20-iteration run; warm containers)',
      ['measure', 'one tool call per turn', 'two tool calls per turn (Map)'],
      [
        ['state transitions', round(single.transitions, 2), round(fan.transitions, 2)],
        ['DynamoDB requests', round(single.requests, 2), round(fan.requests, 2)],
        ...ops.map((op): [string, number, string] => [
          `  ${op}`,
          round(((at(20).byOperation[op] ?? 0) - (at(10).byOperation[op] ?? 0)) / 10, 2),
          '',
        ]),
      ],
    );
    const lengths = [5, 10, 20, 40];
    const reads = table(
      'Conversation read per run (bytes of Query answers; all reads in brackets)',
      ['iterations', 'DynamoDB requests', 'Query bytes', 'all read bytes', 'state transitions'],
      [1, ...lengths].map((n) => [n, at(n).requests, at(n).queryBytes, at(n).readBytes, at(n).transitions]),
    );
    return {
      text: [work, reads].join('\n'),
      json: {
        transitionsPerIteration: round(single.transitions, 2),
        transitionsPerIterationTwoTools: round(fan.transitions, 2),
        dynamodbRequestsPerIteration: round(single.requests, 2),
        dynamodbRequestsPerIterationTwoTools: round(fan.requests, 2),
        dynamodbRequestsByOperationPerIteration: Object.fromEntries(
          ops.map((op) => [
            op,
            round(((at(20).byOperation[op] ?? 0) - (at(10).byOperation[op] ?? 0)) / 10, 2),
          ]),
        ),
        conversationQueryBytesPerRun: Object.fromEntries(lengths.map((n) => [String(n), at(n).queryBytes])),
        readBytesPerRun: Object.fromEntries(lengths.map((n) => [String(n), at(n).readBytes])),
      },
    };
  } finally {
    await h.close();
  }
}

async function stateTransitions(h: AgentHarness, executionArn: string): Promise<number> {
  let count = 0;
  let nextToken: string | undefined;
  do {
    const page = h.sfn.getExecutionHistory({
      executionArn,
      maxResults: 1000,
      ...(nextToken ? { nextToken } : {}),
    });
    count += page.events.filter((e) => e.type.endsWith('StateEntered')).length;
    nextToken = page.nextToken;
  } while (nextToken);
  return count;
}
