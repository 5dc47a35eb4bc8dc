import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backend } from '../../../examples/invoice/backend.js';
import { invoiceWorkflow } from '../../../examples/invoice/workflow.js';
import { type OtlpTraceRequest, traceIdOf } from '../../../lambdas/core/otel-trace.js';
import { scenario, text, toolUse } from '../../../local/scripted-model/index.js';
import { AgentHarness } from '../../support/agent-harness.js';
import { otlpTraceRequestSchema } from '../../support/otlp-schema.js';

// strictRequired off: the oneof rule names members in `required` under `not` (see trace-export.test.ts).
const validate = new Ajv({ strict: true, strictRequired: false }).compile(otlpTraceRequestSchema());
const received: Array<{ path: string; body: string }> = [];
let server: Server;
let collectorUrl: string;
let h: AgentHarness;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  collectorUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // The finish function's environment, as the construct sets it with `otlpTracesEndpoint`.
  h = await AgentHarness.start([invoiceWorkflow], {
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collectorUrl}/v1/traces`,
  });
});
afterAll(async () => {
  await h?.close();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('the finish function with OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', () => {
  it('sends each closed run’s trail as one OTLP/JSON trace', async () => {
    await backend.reset();
    h.model.use(
      scenario('finish export', [
        toolUse('lookup_invoice', { invoice_id: 'INV-000101' }),
        text('INV-000101 is open; nothing else to do in this test.'),
      ]),
    );

    const { runId, execution } = await h.run('invoice-reconciliation', { invoiceId: 'INV-000101' });
    const traces = received.map((r) => JSON.parse(r.body) as OtlpTraceRequest);
    const spans = traces[0]?.resourceSpans[0]?.scopeSpans[0]?.spans ?? [];

    expect(execution.status).toBe('SUCCEEDED');
    expect(received.map((r) => r.path)).toEqual(['/v1/traces']);
    expect(validate(traces[0])).toBe(true);
    expect(spans.map((s) => s.name)).toEqual([
      'invoke_workflow invoice-reconciliation',
      'invoke_agent reconcile',
      'chat claude-sonnet-4-6',
      'execute_tool lookup_invoice',
      'chat claude-sonnet-4-6',
    ]);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([traceIdOf(runId)]));
    expect(spans[0]?.attributes).toContainEqual({
      key: 'chaperone.run.status',
      value: { stringValue: 'SUCCEEDED' },
    });
  });

  it('a collector that is down does not fail the run', async () => {
    await new Promise<void>((r) => server.close(() => r()));
    h.model.use(scenario('collector down', [text('Nothing to reconcile.')]));

    const { execution } = await h.run('invoice-reconciliation', { invoiceId: 'INV-000101' });

    expect(execution.status).toBe('SUCCEEDED');
    // Listening again on the same port for afterAll's close.
    await new Promise<void>((r) => server.listen(Number(new URL(collectorUrl).port), '127.0.0.1', r));
  });
});
