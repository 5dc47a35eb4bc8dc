import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBedrockEmbedder } from '../../../lambdas/adapters/memory-bedrock-embedder.js';
import { DynamoEpisodeStore } from '../../../lambdas/adapters/memory-dynamo-episodes.js';
import { inputText, recallEpisodes } from '../../../lambdas/core/memory/episodes.js';
import type { Episode, EpisodeStore } from '../../../lambdas/core/memory/ports.js';
import type { RunMeta } from '../../../lambdas/core/run-records.js';
import { scenario, text, toolUse } from '../../../local/scripted-model/index.js';
import { AgentHarness, proxyEvent } from '../../support/agent-harness.js';
import { supportWorkflow } from './fixtures.js';

let h: AgentHarness;
beforeAll(async () => {
  h = await AgentHarness.start([supportWorkflow], {}, { memory: {} });
});
afterAll(async () => {
  await h.close();
});

const episodes = () => new DynamoEpisodeStore(h.db, 'Memory');
const embedder = () =>
  createBedrockEmbedder({
    region: 'us-east-1',
    endpoint: h.services.url,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });

async function runFor(tenant: string, input: { question: string; orderId: string }) {
  const res = await h.api()(
    proxyEvent('POST', '/runs', {}, JSON.stringify({ workflow: 'support-question', input, tenant })),
  );
  if (res.statusCode !== 201) throw new Error(`POST /runs answered ${res.statusCode}: ${res.body}`);
  const { runId } = JSON.parse(res.body) as { runId: string };
  const execution = await h.sfn.waitForExecution(
    `arn:aws:states:us-east-1:000000000000:execution:support-question:${runId}`,
  );
  return { runId, execution };
}

const refundQuestion = {
  question: 'Can I still get a refund? It was delivered 12 days ago.',
  orderId: 'ORD-0001',
};
const answered = () =>
  scenario('refund', [
    toolUse('lookup_order', { order_id: 'ORD-0001' }),
    text('Yes: within 30 days of delivery.'),
  ]);

const metaFor = (tenant: string, input: { question: string; orderId: string }): RunMeta => ({
  runId: '01ZZZZZZZZZZZZZZZZZZZZZZZZ',
  workflow: 'support-question',
  input,
  status: 'RUNNING',
  createdAt: '',
  updatedAt: '',
  deadline: 0,
  tenant,
});

describe('episodic memory', () => {
  it('records a finished run for its workflow and tenant: input, tool calls, outcome, cost', async () => {
    h.model.use(answered());
    const { runId, execution } = await runFor('acme', refundQuestion);
    expect(execution.status).toBe('SUCCEEDED');

    const episode = await episodes().get('support-question', 'acme', runId);
    expect(episode).toMatchObject({
      runId,
      tenant: 'acme',
      outcome: 'SUCCEEDED',
      example: true,
      input: refundQuestion,
    });
    expect(episode?.decisions).toEqual([
      expect.stringMatching(/^lookup_order\(\{"order_id":"ORD-0001"\}\) → ok: /),
    ]);
    expect(episode?.answer).toBe('Yes: within 30 days of delivery.');
    expect(episode?.tokens).toBeGreaterThan(0);
    expect(episode?.costUsd).toBeGreaterThan(0);
    expect(episode?.vector).toHaveLength(512);
    const trail = await h.runs.listEvents(runId);
    expect(trail.find((e) => e.type === 'memory_recorded')).toMatchObject({ example: true, decisions: 1 });
  });

  it('recalls a similar past run of the same tenant above the threshold, and never another tenant’s', async () => {
    const deps = { embedder: embedder(), episodes: episodes() };
    const similar = { question: 'Can I get a refund? Delivered 10 days ago.', orderId: 'ORD-0001' };
    const mine = await recallEpisodes(metaFor('acme', similar), supportWorkflow, deps);
    expect(mine?.kept.length).toBe(1);
    expect(mine?.kept[0]?.episode.tenant).toBe('acme');
    expect(mine?.kept[0]?.score).toBeGreaterThanOrEqual(0.3);

    const theirs = await recallEpisodes(metaFor('globex', similar), supportWorkflow, deps);
    expect(theirs?.kept).toEqual([]);
    expect(theirs?.dropped).toEqual([]);

    const unrelated = await recallEpisodes(
      metaFor('acme', { question: 'What colour is the box?', orderId: 'ORD-9999' }),
      supportWorkflow,
      deps,
    );
    expect(unrelated?.kept).toEqual([]);
  });

  it('a run marked not-an-example is never recalled, and a forgotten one is gone (API)', async () => {
    h.model.use(answered());
    const { runId } = await runFor('acme', refundQuestion);
    const api = h.api();
    const deps = { embedder: embedder(), episodes: episodes() };
    const recalled = async () =>
      (await recallEpisodes(metaFor('acme', refundQuestion), supportWorkflow, deps))?.kept.map(
        (k) => k.episode.runId,
      );
    expect(await recalled()).toContain(runId);

    const put = await api(
      proxyEvent('PUT', '/runs/{id}/memory', { id: runId }, JSON.stringify({ example: false })),
    );
    expect([put.statusCode, JSON.parse(put.body)]).toEqual([200, { runId, example: false }]);
    expect(await recalled()).not.toContain(runId);

    const del = await api(proxyEvent('DELETE', '/runs/{id}/memory', { id: runId }, null));
    expect(del.statusCode).toBe(200);
    expect(await episodes().get('support-question', 'acme', runId)).toBeUndefined();
    const again = await api(proxyEvent('DELETE', '/runs/{id}/memory', { id: runId }, null));
    expect([again.statusCode, JSON.parse(again.body).message]).toEqual([404, `run ${runId} has no episode`]);
    const bad = await api(
      proxyEvent('PUT', '/runs/{id}/memory', { id: runId }, JSON.stringify({ example: 'no' })),
    );
    expect(bad.statusCode).toBe(400);
  });

  it('keeps tenants apart twice: the store lists only the tenant’s partition, and recall drops any other tenant’s episode', async () => {
    const store = episodes();
    const input = { question: 'Is the warranty two years long?', orderId: 'ORD-0042' };
    const [vector] = await embedder().embed([inputText(input)], 512);
    const episode = (runId: string, tenant: string): Episode => ({
      runId,
      workflow: 'support-question',
      tenant,
      input,
      outcome: 'SUCCEEDED',
      decisions: [`answered for ${tenant || 'no tenant'}`],
      approvals: [],
      costUsd: 0.001,
      tokens: 10,
      finishedAt: '2026-11-01T00:00:00.000Z',
      vector: vector ?? [],
      example: true,
    });
    await store.put(episode('01WARRANTYACME000000000000', 'initech'));
    await store.put(episode('01WARRANTYGLOBEX0000000000', 'umbrella'));
    await store.put(episode('01WARRANTYNOTENANT00000000', ''));
    // The store: a tenant's list is its own partition (a key without the tenant fails here).
    expect((await store.list('support-question', 'initech', 200)).map((e) => e.runId)).toEqual([
      '01WARRANTYACME000000000000',
    ]);
    expect((await store.list('support-question', '', 200)).map((e) => e.tenant)).toEqual(['']);
    // Recall: even a store that answered with every tenant's episodes gives this tenant only its own.
    const leaky: EpisodeStore = {
      put: (e) => store.put(e),
      get: (w, t, id) => store.get(w, t, id),
      delete: (w, t, id) => store.delete(w, t, id),
      setExample: (w, t, id, example) => store.setExample(w, t, id, example),
      list: async (w, _tenant, limit) =>
        (await Promise.all(['initech', 'umbrella', ''].map((t) => store.list(w, t, limit)))).flat(),
    };
    const recalled = await recallEpisodes(metaFor('umbrella', input), supportWorkflow, {
      embedder: embedder(),
      episodes: leaky,
    });
    expect(recalled?.kept.map((k) => k.episode.runId)).toEqual(['01WARRANTYGLOBEX0000000000']);
    const none = await recallEpisodes(metaFor('hooli', input), supportWorkflow, {
      embedder: embedder(),
      episodes: leaky,
    });
    expect(none?.kept).toEqual([]);
  });

  it('a run that failed or stopped is recorded as not-an-example by default', async () => {
    h.model.use(
      scenario('loop', [
        toolUse('lookup_order', { order_id: 'ORD-0002' }),
        toolUse('lookup_order', { order_id: 'ORD-0002' }),
        toolUse('lookup_order', { order_id: 'ORD-0002' }),
      ]),
    );
    const { runId, execution } = await runFor('acme', { question: 'Where is it?', orderId: 'ORD-0002' });
    expect(execution.status).toBe('FAILED');
    const episode = await episodes().get('support-question', 'acme', runId);
    expect(episode).toMatchObject({ example: false, outcome: 'STOPPED', stopReason: 'LoopDetected' });
  });
});
