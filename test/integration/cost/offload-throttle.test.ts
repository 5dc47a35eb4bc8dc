import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastToolResults, responder, text, toolUse } from '../../../local/scripted-model/index.js';
import { agent, defineAgent, defineTool, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness } from '../../support/agent-harness.js';

/**
 * S3 answers the first read of an offloaded tool result 503 SlowDown (the
 * object is there): the agent step's Retry reads it again and the run goes
 * on, rather than stopping as if the payload were lost.
 */
const big = defineTool({
  name: 'big',
  description: 'Returns a large text.',
  input: { type: 'object', properties: {}, additionalProperties: false } as const,
  access: 'read',
  trim: { maxBytes: 100_000 },
  run: async () => 'z'.repeat(40_000),
});
const workflow = defineWorkflow({
  name: 'slow-bucket',
  description: 'One large tool result, read back through a bucket that slows down once.',
  input: { type: 'object', properties: {}, additionalProperties: false } as const,
  steps: [
    agent('read', {
      agent: defineAgent({
        name: 'r',
        model: 'claude-haiku-4-5',
        system: 'Read.',
        tools: [big],
        maxTokens: 64,
      }),
      prompt: () => 'go',
    }),
  ],
});

let upstream = '';
let slowDowns = 0;
let gets = 0;
/** In front of the local S3: the first GET of a run's payload is 503 SlowDown, everything else passes. */
const proxy: Server = createServer((req, res) => {
  if (req.method === 'GET' && req.url?.includes('/runs/') && ++gets === 1) {
    slowDowns += 1;
    res.writeHead(503, { 'content-type': 'application/xml' });
    res.end('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
    return;
  }
  const u = new URL(upstream);
  const forward = request(
    { host: u.hostname, port: u.port, path: req.url, method: req.method, headers: req.headers },
    (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    },
  );
  req.pipe(forward);
});

let h: AgentHarness;
beforeAll(async () => {
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  h = await AgentHarness.start([workflow], { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}` });
  upstream = h.services.url;
});
afterAll(async () => {
  await h?.close();
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
});

describe('an offloaded payload behind a bucket that slows down', () => {
  it('a 503 SlowDown on its read is retried by the step, and the model reads the whole result', async () => {
    h.model.use(
      responder('slow-bucket', (r) =>
        r.turnIndex === 0 ? toolUse('big', {}) : text(`saw ${lastToolResults(r)[0]?.content.length ?? 0}`),
      ),
    );
    const { runId, execution } = await h.run('slow-bucket', {});
    expect(slowDowns).toBe(1);
    expect(execution.status).toBe('SUCCEEDED');
    const meta = await h.runs.getRun(runId);
    expect(meta?.status).toBe('SUCCEEDED');
    // The spotlighted 40,000 characters, read back whole after the retry.
    expect(Number(/saw (\d+)/.exec(String(meta?.answer))?.[1])).toBeGreaterThan(40_000);
  });
});
