/**
 * What memory adds to an agent run, on against off: the same one-step agent
 * loop (a noop tool call per turn) with a knowledge source (the labelled
 * policies of `examples/memory-samples/`, topK 5) and episodic memory (up to 3
 * examples of earlier runs), against the same agent with neither. Counted on
 * the wire while each run goes: DynamoDB requests (the counting proxy in front
 * of dynalite, every function of the run), S3 Vectors operations and Titan
 * embedding calls (the services server); per run and per agent iteration,
 * for runs of 1 and 10 iterations, warm containers. The latency memory adds
 * is timed on its own (`memoryContext` through the same adapters, 30 calls):
 * a run's wall time on this shared local stack varies by more than it. Local
 * latency only: in AWS each added request is a network round trip.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBedrockEmbedder } from '../../lambdas/adapters/memory-bedrock-embedder.js';
import { DynamoEpisodeStore } from '../../lambdas/adapters/memory-dynamo-episodes.js';
import { createS3VectorsIndex } from '../../lambdas/adapters/memory-s3vectors-index.js';
import { memoryContext } from '../../lambdas/core/memory/context.js';
import { ingestKnowledge } from '../../lambdas/core/memory/ingest.js';
import { agent, defineAgent, defineKnowledge, defineWorkflow } from '../../state-machines/index.js';
import type { AgentStep } from '../../state-machines/steps.js';
import { AgentHarness } from '../../test/support/agent-harness.js';
import { localVectorBucketArn } from '../memory/s3vectors-store.js';
import { loopInput, loopScript, noop } from './orchestration.js';
import { round, stats, table } from './table.js';

const SAMPLES = fileURLToPath(new URL('../../examples/memory-samples/knowledge/', import.meta.url));
const policies = defineKnowledge({ name: 'policies', dimension: 1024, maxChunkChars: 600 });

const loop = (name: string, memory: boolean) =>
  defineWorkflow({
    name,
    description: memory ? 'the bench loop with knowledge and episodic memory' : 'the bench loop, no memory',
    input: loopInput,
    steps: [
      agent('loop', {
        agent: defineAgent({
          name: 'spinner',
          model: 'claude-haiku-4-5',
          system: 'Call noop until told to stop; the expense and leave policies may apply.',
          tools: [noop],
          maxTokens: 64,
          ...(memory ? { knowledge: { source: policies, topK: 5, minScore: 0.05 } } : {}),
        }),
        prompt: ({ input }) =>
          `iterations ${(input as { iterations: number }).iterations}: check the expense claim limits for travel and the leave policy`,
      }),
    ],
    limits: { maxSteps: 50, maxTokens: 50_000_000, maxCostUsd: 1_000, timeLimitSeconds: 600 },
    ...(memory ? { memory: { examples: 3, minScore: 0.1 } } : {}),
  });

interface Counted {
  dynamodb: number;
  s3vectors: number;
  embeddings: number;
  examples: number;
  chunks: number;
}

export async function benchMemoryIteration(
  opts: { runs?: number } = {},
): Promise<{ text: string; json: Record<string, unknown> }> {
  const runs = opts.runs ?? 3;
  const on = loop('memory-on', true);
  const off = loop('memory-off', false);
  const h = await AgentHarness.start(
    [on, off],
    {},
    {
      faults: true,
      memory: {
        vectorIndexes: [
          {
            name: 'policies',
            dimension: 1024,
            distanceMetric: 'cosine',
            nonFilterableKeys: ['text', 'document'],
          },
        ],
      },
    },
  );
  const proxy = h.faults;
  if (!proxy) throw new Error('the counting proxy did not start');
  let s3vectors = 0;
  let embeddings = 0;
  h.services.events.on('memory', (r) => {
    if (r.service === 's3vectors') s3vectors += 1;
    else embeddings += 1;
  });
  try {
    const common = {
      region: 'us-east-1',
      endpoint: h.services.url,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    };
    const docs = readdirSync(SAMPLES)
      .sort()
      .map((f) => ({ path: f, bytes: new Uint8Array(readFileSync(join(SAMPLES, f))) }));
    await ingestKnowledge(policies, docs, {
      embedder: createBedrockEmbedder(common),
      index: createS3VectorsIndex({
        vectorBucketArn: localVectorBucketArn('kb', 'us-east-1', '000000000000'),
        ...common,
      }),
    });
    const measure = async (workflow: string, iterations: number): Promise<Counted> => {
      h.model.use(loopScript(workflow));
      proxy.requests.length = 0;
      s3vectors = 0;
      embeddings = 0;
      const { runId, execution } = await h.run(workflow, { iterations });
      if (execution.status !== 'SUCCEEDED') throw new Error(`bench run ${runId} ended ${execution.status}`);
      const counted = { dynamodb: proxy.requests.length, s3vectors, embeddings };
      const trail = await h.runs.listEvents(runId);
      const kept = (memory: string) =>
        trail.reduce(
          (n, e) =>
            e.type === 'memory_retrieval' && (e as { memory?: string }).memory === memory
              ? n + ((e as { kept?: unknown[] }).kept?.length ?? 0)
              : n,
          0,
        );
      return { ...counted, examples: kept('episodic'), chunks: kept('semantic') };
    };
    // Warm-up: every container started, and past runs recorded for the episodic recall.
    for (const w of ['memory-on', 'memory-off']) for (let i = 0; i < 3; i++) await measure(w, 2);
    // Off and on alternate run by run, so drift in the machine's load falls on both alike.
    const rows: Array<{ workflow: string; iterations: number; figures: Counted[] }> = [];
    for (const iterations of [1, 10]) {
      const pair = ['memory-off', 'memory-on'].map((workflow) => ({
        workflow,
        iterations,
        figures: [] as Counted[],
      }));
      for (let r = 0; r < runs; r++)
        for (const row of pair) row.figures.push(await measure(row.workflow, iterations));
      rows.push(...pair);
    }
    // The memory work of a step's first iteration on its own, through the same adapters: the
    // embedding, GetVectors, QueryVectors, and the episodes' Query and embedding.
    await measure('memory-on', 1);
    const runId = h.model.requests.at(-1)?.conversation.split(':')[0] ?? '';
    const meta = await h.runs.getRun(runId);
    if (!meta) throw new Error(`no run ${runId}`);
    const deps = {
      embedder: createBedrockEmbedder(common),
      index: createS3VectorsIndex({
        vectorBucketArn: localVectorBucketArn('kb', 'us-east-1', '000000000000'),
        ...common,
      }),
      episodes: new DynamoEpisodeStore(h.db, 'Memory'),
    };
    const step = on.steps[0] as AgentStep;
    const work: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t = performance.now();
      await memoryContext(
        { meta, workflow: on, step, task: 'iterations 1: check the expense claim limits' },
        deps,
      );
      work.push(performance.now() - t);
    }
    const memoryWork = stats(work);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const of = (workflow: string, iterations: number) => {
      const row = rows.find((r) => r.workflow === workflow && r.iterations === iterations);
      if (!row) throw new Error(`no row ${workflow}/${iterations}`);
      const f = row.figures;
      return {
        dynamodb: mean(f.map((x) => x.dynamodb)),
        s3vectors: mean(f.map((x) => x.s3vectors)),
        embeddings: mean(f.map((x) => x.embeddings)),
        examples: mean(f.map((x) => x.examples)),
        chunks: mean(f.map((x) => x.chunks)),
      };
    };
    const body: Array<Array<string | number>> = [];
    const json: Record<string, unknown> = {};
    for (const n of [1, 10]) {
      const a = of('memory-off', n);
      const b = of('memory-on', n);
      for (const [label, k] of [
        ['DynamoDB requests', 'dynamodb'],
        ['S3 Vectors requests', 's3vectors'],
        ['Bedrock InvokeModel (embeddings)', 'embeddings'],
      ] as const)
        body.push([
          `${n} iteration${n > 1 ? 's' : ''}: ${label}`,
          round(a[k], 2),
          round(b[k], 2),
          round(b[k] - a[k], 2),
          round((b[k] - a[k]) / n, 2),
        ]);
      json[`memoryAdded${n === 1 ? 'OneIteration' : 'TenIterations'}`] = {
        dynamodbPerIteration: round((b.dynamodb - a.dynamodb) / n, 2),
        s3vectorsPerIteration: round((b.s3vectors - a.s3vectors) / n, 2),
        embeddingsPerIteration: round((b.embeddings - a.embeddings) / n, 2),
        keptChunks: round(b.chunks, 2),
        keptExamples: round(b.examples, 2),
      };
    }
    const on10 = of('memory-on', 10);
    const text = table(
      `Memory on vs off per run and per agent iteration (${runs} runs each, warm; memory on: ${round(on10.chunks, 1)} knowledge chunks and ${round(on10.examples, 1)} past runs kept; every function of the run counted)`,
      ['run', 'memory off', 'memory on', 'added per run', 'added per iteration'],
      [
        ...body,
        [
          'memory work of a first iteration alone (mean / p95 ms, 30 calls)',
          '',
          `${round(memoryWork.mean, 1)} / ${round(memoryWork.p95, 1)}`,
          '',
          '',
        ],
      ],
    );
    json.memoryStepWorkMs = { mean: round(memoryWork.mean, 2), p95: round(memoryWork.p95, 2) };
    return { text, json };
  } finally {
    await h.close();
  }
}
