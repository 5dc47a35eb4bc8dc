import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { createAnthropicModel } from '../../../lambdas/adapters/anthropic-model.js';
import { nodeFetch } from '../../../lambdas/adapters/http-fetch.js';
import {
  ModelThrottledError,
  ModelUnavailableError,
  modelCallAnswered,
} from '../../../lambdas/core/errors.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  port: number;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A real server on loopback: `answer` replies to every request; `seen` lists what arrived. */
async function serve(answer: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  const seen: Seen[] = [];
  const closed: number[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        port: req.socket.remotePort ?? 0,
      });
      answer(req, res, body);
    });
    req.socket.on('close', () => closed.push(req.socket.remotePort ?? 0));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, closed };
}

const MESSAGE = {
  id: 'msg_1',
  type: 'message',
  role: 'assistant',
  model: 'claude-haiku-4-5',
  content: [{ type: 'text', text: 'hello' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 3, output_tokens: 1 },
};

describe('nodeFetch', () => {
  it('sends the method, path, headers and body, and answers status, headers and body as fetch does', async () => {
    const { url, seen } = await serve((_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.writeHead(201, { 'content-type': 'application/json', 'x-request-id': 'req_9' });
      res.end(JSON.stringify({ ok: 'é✓' }));
    });
    const response = await nodeFetch(`${url}/v1/messages?beta=true`, {
      method: 'post',
      headers: { 'content-type': 'application/json', 'X-Api-Key': 'k' },
      body: JSON.stringify({ q: 'ünïcode' }),
    });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      method: 'POST',
      url: '/v1/messages?beta=true',
      body: '{"q":"ünïcode"}',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'content-length': '17' },
    });
    expect(response.status).toBe(201);
    expect(response.ok).toBe(true);
    expect(response.headers.get('x-request-id')).toBe('req_9');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await response.json()).toEqual({ ok: 'é✓' });
  });

  it('keeps the connection for the next call, and answers a 204 with no body', async () => {
    const { url, seen } = await serve((_req, res) => {
      res.writeHead(204);
      res.end();
    });
    const first = await nodeFetch(url, { method: 'DELETE' });
    const second = await nodeFetch(url, { method: 'DELETE' });
    expect([first.status, second.status]).toEqual([204, 204]);
    expect(first.body).toBeNull();
    expect(seen.map((s) => s.port)).toEqual([seen[0]?.port, seen[0]?.port]);
  });

  it('decodes a gzip answer (stacked too, an unknown coding left as it came), and hands a streamed request body to the global fetch', async () => {
    const { url, seen } = await serve((_req, res, body) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
      res.end(gzipSync(`got ${body}`));
    });
    expect(await (await nodeFetch(url, { method: 'POST', body: 'plain' })).text()).toBe('got plain');
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('streamed'));
        c.close();
      },
    });
    const odd = await serve((_req, res) => {
      const coding = _req.headers['x-coding'] as string;
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': coding });
      res.end(coding === 'zstd-weird' ? 'raw bytes' : gzipSync(gzipSync('twice')));
    });
    // An encoding it does not know leaves the bytes as they came (an answer, not a failure).
    const unknown = await nodeFetch(odd.url, { headers: { 'x-coding': 'zstd-weird' } });
    expect([unknown.status, await unknown.text()]).toEqual([200, 'raw bytes']);
    const stacked = await nodeFetch(odd.url, { headers: { 'x-coding': 'identity, gzip, gzip' } });
    expect(await stacked.text()).toBe('twice');
    const streamed = await nodeFetch(url, { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(await streamed.text()).toBe('got streamed');
    expect(seen.map((s) => s.body)).toEqual(['plain', 'streamed']);
  });

  it('rejects with an AbortError when its signal aborts, and closes the connection', async () => {
    const { url, seen, closed } = await serve(() => {
      // Never answers.
    });
    const controller = new AbortController();
    const pending = nodeFetch(url, { method: 'POST', body: 'x', signal: controller.signal });
    await expect.poll(() => seen.length).toBe(1);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    await expect.poll(() => closed).toContain(seen[0]?.port);

    const before = seen.length;
    await expect(nodeFetch(url, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(seen.length).toBe(before);
  });

  it('rejects with a TypeError naming the cause when the connection fails or the answer is cut', async () => {
    const { url: closedUrl } = await serve(() => {});
    const refusedPort = new URL(closedUrl).port;
    const server = servers.pop();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    const refused = await nodeFetch(`http://127.0.0.1:${refusedPort}/`).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(TypeError);
    expect((refused as { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');

    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await expect(nodeFetch(url)).rejects.toBeInstanceOf(TypeError);
  });
});

describe('nodeFetch keep-alive', () => {
  it('does not send on a connection the server closed while this process was frozen (a thawed Lambda container)', {
    timeout: 20_000,
  }, async () => {
    // The server in a process of its own, so it closes the idle connection while this one is
    // blocked: 2 s keep-alive, as it announces in Keep-Alive: timeout=2.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const s = require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => r.end('ok')); });
         s.keepAliveTimeout = 2000;
         s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const port = await new Promise<string>((r) => child.stdout?.once('data', (d) => r(String(d).trim())));
      const url = `http://127.0.0.1:${port}/`;
      const outcomes: string[] = [];
      for (let i = 0; i < 2; i++) {
        await (await nodeFetch(url, { method: 'POST', body: 'a' })).text();
        await new Promise((r) => setTimeout(r, 10));
        // Frozen past the server's keep-alive: it closes the socket meanwhile.
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3_500);
        outcomes.push(
          await nodeFetch(url, { method: 'POST', body: 'b' }).then(
            (r) => r.text(),
            (e: { cause?: { code?: string } }) => `failed: ${e.cause?.code}`,
          ),
        );
      }
      expect(outcomes).toEqual(['ok', 'ok']);
    } finally {
      child.kill();
    }
  });

  it('keeps waiting for an answer slower than the idle timeout', { timeout: 15_000 }, async () => {
    const { url } = await serve((_req, res) => {
      setTimeout(() => res.end('late'), 5_500);
    });
    expect(await (await nodeFetch(url, { method: 'POST', body: 'x' })).text()).toBe('late');
  });
});

describe('the Anthropic adapter on nodeFetch', () => {
  it('calls the Messages API and reads its answer', async () => {
    const { url, seen } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(MESSAGE));
    });
    const model = createAnthropicModel({ apiKey: 'key-1', baseURL: url, maxRetries: 0 });
    const out = await model.call({
      model: 'claude-haiku-4-5',
      system: 'be brief',
      messages: [{ role: 'user', content: 'hi' }],
      tools: [],
      maxTokens: 16,
    });
    expect(out.content).toEqual([{ type: 'text', text: 'hello' }]);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/messages' });
    // The key, in the header the SDK puts it in.
    const auth = seen[0]?.headers ?? {};
    expect([auth['x-api-key'], auth.authorization]).toContainEqual(expect.stringContaining('key-1'));
    expect(JSON.parse(seen[0]?.body ?? '{}')).toMatchObject({
      model: 'claude-haiku-4-5',
      system: 'be brief',
    });
  });

  it('names a 429 ModelThrottledError with its retry-after, and a timeout an unanswered ModelUnavailableError', async () => {
    const { url: throttled } = await serve((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '7' });
      res.end(JSON.stringify({ type: 'error', error: { type: 'rate_limit_error', message: 'slow down' } }));
    });
    const request = {
      model: 'm',
      system: '',
      messages: [{ role: 'user' as const, content: 'hi' }],
      tools: [],
      maxTokens: 8,
    };
    const err = await createAnthropicModel({ apiKey: 'k', baseURL: throttled, maxRetries: 0 })
      .call(request)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelThrottledError);
    expect((err as ModelThrottledError).retryAfterSeconds).toBe(7);

    const { url: silent, closed, seen } = await serve(() => {});
    const timedOut = await createAnthropicModel({ apiKey: 'k', baseURL: silent, maxRetries: 0, timeout: 100 })
      .call(request)
      .catch((e: unknown) => e);
    expect(timedOut).toBeInstanceOf(ModelUnavailableError);
    expect((timedOut as Error).message).toBe('model call timed out after 100 ms');
    // It may have been processed: its reservation is charged, not given back.
    expect(modelCallAnswered(timedOut)).toBe(false);
    await expect.poll(() => closed).toContain(seen[0]?.port);
  });
});
