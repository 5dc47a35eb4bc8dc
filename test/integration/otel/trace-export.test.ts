import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend } from '../../../examples/invoice/backend.js';
import { invoiceWorkflow } from '../../../examples/invoice/workflow.js';
import type { OtlpSpan, OtlpTraceRequest } from '../../../lambdas/core/otel-trace.js';
import { main } from '../../../local/cli/chaperone.js';
import { scenario, text, toolUse, withUsage } from '../../../local/scripted-model/index.js';
import { AgentHarness } from '../../support/agent-harness.js';
import { otlpTraceRequestSchema } from '../../support/otlp-schema.js';
import { serveApi } from '../approvals/support.js';

let h: AgentHarness;
let api: Awaited<ReturnType<typeof serveApi>>;
let dir: string;
let runId: string;
// strictRequired off: the oneof rule names members in `required` under `not`, where Ajv's strict mode wants them declared again.
const validate = new Ajv({ strict: true, strictRequired: false, allErrors: true }).compile(
  otlpTraceRequestSchema(),
);

/** A collector on loopback that records what it receives and answers with `status`. */
async function collector(status = 200, body = '{}') {
  const received: Array<{ path: string; type: string; body: string }> = [];
  const server: Server = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => {
      data += c.toString('utf8');
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body: data });
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const code = await main([...argv, '--api', api.url], { write: (l) => lines.push(l), env: {} });
  return { code, out: lines.join('\n') };
}

/**
 * Every attribute the GenAI semantic conventions define (semantic-conventions
 * v1.42, `model/gen-ai/registry.yaml`) that the export may use, and `error.type`
 * from the general registry: a `gen_ai.*` key not among them is made up.
 */
const SEMCONV_KEYS = new Set([
  'gen_ai.operation.name',
  'gen_ai.provider.name',
  'gen_ai.request.model',
  'gen_ai.response.model',
  'gen_ai.response.finish_reasons',
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.cache_read.input_tokens',
  'gen_ai.usage.cache_creation.input_tokens',
  'gen_ai.conversation.id',
  'gen_ai.agent.name',
  'gen_ai.workflow.name',
  'gen_ai.tool.name',
  'gen_ai.tool.call.id',
  'gen_ai.tool.type',
  'error.type',
]);

const attrOf = (span: OtlpSpan, key: string) => {
  const v = span.attributes.find((a) => a.key === key)?.value;
  if (!v) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  return v.arrayValue.values.map((x) => ('stringValue' in x ? x.stringValue : x));
};

beforeAll(async () => {
  api = await serveApi();
  h = await AgentHarness.start([invoiceWorkflow], { APPROVAL_BASE_URL: api.url });
  api.attach(h.api());
  dir = mkdtempSync(join(tmpdir(), 'chaperone-trace-'));
  await backend.reset();
  h.model.use(
    scenario('trace', [
      withUsage(toolUse('lookup_invoice', { invoice_id: 'INV-000101' }, { text: 'Looking up INV-000101.' }), {
        inputTokens: 900,
        outputTokens: 40,
        cacheReadInputTokens: 1200,
        cacheCreationInputTokens: 300,
      }),
      toolUse('lookup_vendor_by_magic', { vendor_id: 'V-100' }),
      toolUse('find_vendor', { vendor_id: 'V-100' }),
      text('INV-000101 is open and V-100 is known; not paying in this test.'),
    ]),
  );
  ({ runId } = await h.run('invoice-reconciliation', { invoiceId: 'INV-000101' }));
});
afterAll(async () => {
  await h?.close();
  await api?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('chaperone runs trace', () => {
  it('--out writes an OTLP/JSON trace that validates against the schema from opentelemetry-proto and carries the GenAI attributes', async () => {
    const file = join(dir, 'trace.json');
    const trail = (await h.runs.listEvents(runId)).filter((e) => e.type === 'model_call');

    const { code, out } = await cli('runs', 'trace', runId, '--out', file);
    const trace = JSON.parse(readFileSync(file, 'utf8')) as OtlpTraceRequest;
    const spans = trace.resourceSpans[0]?.scopeSpans[0]?.spans ?? [];
    const [root, ...children] = spans;
    const op = (name: string) => children.filter((s) => attrOf(s, 'gen_ai.operation.name') === name);
    const chats = op('chat');
    const tools = op('execute_tool');
    const agents = op('invoke_agent');
    const steps = [...new Set(trail.map((e) => e.step))];
    const keys = new Set(spans.flatMap((s) => s.attributes.map((a) => a.key)));

    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^wrote 8 spans of run ${runId} to ${file} \\(trace [0-9a-f]{32}`));
    expect(validate(trace), JSON.stringify(validate.errors)).toBe(true);
    // A workflow run groups agent steps: invoke_workflow, then invoke_agent per step, its calls under it.
    expect(root?.name).toBe('invoke_workflow invoice-reconciliation');
    expect(attrOf(root as OtlpSpan, 'gen_ai.operation.name')).toBe('invoke_workflow');
    expect(attrOf(root as OtlpSpan, 'gen_ai.workflow.name')).toBe('invoice-reconciliation');
    expect(root?.parentSpanId).toBeUndefined();
    expect(steps).toHaveLength(1);
    expect(agents.map((s) => [s.name, s.parentSpanId, attrOf(s, 'gen_ai.provider.name')])).toEqual([
      [`invoke_agent ${steps[0]}`, root?.spanId, 'anthropic'],
    ]);
    expect(
      [...chats, ...tools].every((s) => s.parentSpanId === agents[0]?.spanId && s.traceId === root?.traceId),
    ).toBe(true);
    expect([...keys].filter((k) => /^(gen_ai|error)\./.test(k) && !SEMCONV_KEYS.has(k))).toEqual([]);
    expect(root?.events.map((e) => e.name)).toEqual(['chaperone.tool_rejected']);
    expect(chats.map((s) => s.name)).toEqual(Array(4).fill('chat claude-sonnet-4-6'));
    expect(chats.map((s) => s.kind)).toEqual([3, 3, 3, 3]);
    expect(
      chats.map((s) => ({
        provider: attrOf(s, 'gen_ai.provider.name'),
        model: attrOf(s, 'gen_ai.request.model'),
        input: attrOf(s, 'gen_ai.usage.input_tokens'),
        cacheRead: attrOf(s, 'gen_ai.usage.cache_read.input_tokens'),
        cacheWrite: attrOf(s, 'gen_ai.usage.cache_creation.input_tokens'),
        output: attrOf(s, 'gen_ai.usage.output_tokens'),
        cost: attrOf(s, 'chaperone.cost_usd'),
        conversation: attrOf(s, 'gen_ai.conversation.id'),
      })),
    ).toEqual(
      trail.map((e) => ({
        provider: 'anthropic',
        model: 'claude-sonnet-4-6',
        // Anthropic reports cache reads and writes apart; the conventions count them in input_tokens.
        input: e.inputTokens + e.cacheReadTokens + e.cacheWriteTokens,
        cacheRead: e.cacheReadTokens,
        cacheWrite: e.cacheWriteTokens,
        output: e.outputTokens,
        cost: e.costUsd,
        conversation: runId,
      })),
    );
    expect(attrOf(chats[0] as OtlpSpan, 'gen_ai.usage.input_tokens')).toBe(900 + 1200 + 300);
    expect(attrOf(agents[0] as OtlpSpan, 'gen_ai.usage.input_tokens')).toBe(
      trail.reduce((n, e) => n + e.inputTokens + e.cacheReadTokens + e.cacheWriteTokens, 0),
    );
    expect(attrOf(root as OtlpSpan, 'gen_ai.usage.output_tokens')).toBe(
      trail.reduce((n, e) => n + e.outputTokens, 0),
    );
    expect(attrOf(chats[3] as OtlpSpan, 'gen_ai.response.finish_reasons')).toEqual(['end_turn']);
    expect(
      tools.map((s) => [s.name, attrOf(s, 'gen_ai.tool.name'), attrOf(s, 'chaperone.tool.status')]),
    ).toEqual([
      ['execute_tool lookup_invoice', 'lookup_invoice', 'ok'],
      ['execute_tool find_vendor', 'find_vendor', 'ok'],
    ]);
    expect(typeof attrOf(tools[0] as OtlpSpan, 'gen_ai.tool.call.id')).toBe('string');
    for (const s of spans) expect(BigInt(s.endTimeUnixNano) >= BigInt(s.startTimeUnixNano)).toBe(true);
  });

  it('--otlp posts the same trace to a collector’s /v1/traces as JSON', async () => {
    const c = await collector();
    try {
      const { code, out } = await cli('runs', 'trace', runId, '--otlp', c.url);
      const sent = JSON.parse(c.received[0]?.body ?? '{}') as OtlpTraceRequest;

      expect(code).toBe(0);
      expect(out).toContain(`sent 8 spans of run ${runId} to ${c.url}/v1/traces`);
      expect(c.received.map((r) => [r.path, r.type])).toEqual([['/v1/traces', 'application/json']]);
      expect(validate(sent)).toBe(true);
      expect(sent).toEqual(JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8')));
    } finally {
      await c.close();
    }
  });

  it('the schema refuses what an OTLP collector would: base64 ids, string enums, unknown fields', () => {
    const good = JSON.parse(readFileSync(join(dir, 'trace.json'), 'utf8')) as OtlpTraceRequest;
    const span = () => good.resourceSpans[0]?.scopeSpans[0]?.spans[0] as OtlpSpan;
    const broken = (edit: (s: Record<string, unknown>) => void) => {
      const copy = structuredClone(good);
      edit(copy.resourceSpans[0]?.scopeSpans[0]?.spans[0] as unknown as Record<string, unknown>);
      return validate(copy);
    };

    expect(validate(good)).toBe(true);
    expect(broken((s) => (s.traceId = Buffer.from(span().traceId, 'hex').toString('base64')))).toBe(false);
    expect(broken((s) => (s.kind = 'SPAN_KIND_INTERNAL'))).toBe(false);
    expect(broken((s) => (s.trace_id = span().traceId))).toBe(false);
    expect(broken((s) => (s.attributes = [{ key: 'x', value: { stringValue: 'a', intValue: '1' } }]))).toBe(
      false,
    );
  });

  it('a run that does not exist, an unreachable collector, a refusing collector: a clear message, nothing written or sent', async () => {
    const file = join(dir, 'missing.json');
    const gone = await collector();
    await gone.close();
    const refusing = await collector(400, '{"message":"bad payload"}');
    try {
      const missing = await cli('runs', 'trace', '01NOSUCHRUN', '--out', file);
      const unreachable = await cli('runs', 'trace', runId, '--otlp', gone.url);
      const refused = await cli('runs', 'trace', runId, '--otlp', `${refusing.url}/custom/path`);
      const both = await cli('runs', 'trace', runId, '--otlp', gone.url, '--out', file);
      const notUrl = await cli('runs', 'trace', runId, '--otlp', 'localhost:4318');

      expect(missing).toEqual({ code: 1, out: 'run 01NOSUCHRUN does not exist; nothing was exported' });
      expect(existsSync(file)).toBe(false);
      expect(unreachable.code).toBe(1);
      expect(unreachable.out).toMatch(
        new RegExp(
          `^could not reach the OTLP collector at ${gone.url}/v1/traces \\(ECONNREFUSED: .*\\); nothing was sent$`,
        ),
      );
      expect(refused.code).toBe(1);
      expect(refused.out).toBe(
        `the OTLP collector at ${refusing.url}/custom/path refused the trace: 400 Bad Request {"message":"bad payload"}`,
      );
      expect(refusing.received.map((r) => r.path)).toEqual(['/custom/path']);
      expect(both).toEqual({
        code: 1,
        out: 'runs trace needs exactly one of --otlp <collector url> or --out <file>',
      });
      expect(notUrl.out).toContain('--otlp localhost:4318: OTLP/HTTP needs an http or https URL');
      expect(existsSync(file)).toBe(false);
    } finally {
      await refusing.close();
    }
  });
});
