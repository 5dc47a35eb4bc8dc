import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BreakerState } from '../../../lambdas/core/breakers.js';
import type { StoredTrailEvent } from '../../../lambdas/core/run-records.js';
import { responder, scenario, text, toolUse } from '../../../local/scripted-model/index.js';
import { agent, defineAgent, defineTool, defineWorkflow } from '../../../state-machines/index.js';
import type { Tool } from '../../../state-machines/tool.js';
import { AgentHarness, proxyEvent } from '../../support/agent-harness.js';

/** An upstream error as HTTP clients raise it: the status makes it retryable. */
class UpstreamError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** Per-tool switches and invocation counts. */
const upstream = {
  quotes: { healthy: false, calls: 0 },
  rates: { healthy: false, calls: 0 },
  inventory: { calls: 0 },
  shipping: { calls: 0 },
};

const skuInput = {
  type: 'object',
  properties: { sku: { type: 'string', pattern: '^[A-Z]-[0-9]+$' } },
  required: ['sku'],
  additionalProperties: false,
} as const;

/** A tool whose upstream answers 503 until switched healthy; its circuit opens after 2 failed calls for 1 s. */
function switchable(name: 'quotes' | 'rates'): Tool {
  return defineTool({
    name,
    description: `Fetch ${name} for a SKU (like A-1).`,
    input: skuInput,
    access: 'read',
    timeoutSeconds: 5,
    retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 10 },
    breaker: { failureThreshold: 2, cooldownSeconds: 1 },
    run: async ({ sku }) => {
      upstream[name].calls += 1;
      if (!upstream[name].healthy) throw new UpstreamError('503 Service Unavailable', 503);
      return { sku, [name]: 42 };
    },
  });
}

/** Always down; a high per-tool threshold so only the run's own breaker can trip. */
function down(name: 'inventory' | 'shipping'): Tool {
  return defineTool({
    name,
    description: `Look up ${name} for a SKU (like A-1).`,
    input: skuInput,
    access: 'read',
    timeoutSeconds: 5,
    retry: { maxAttempts: 1 },
    breaker: { failureThreshold: 1000, cooldownSeconds: 60 },
    run: async () => {
      upstream[name].calls += 1;
      throw new UpstreamError('502 Bad Gateway', 502);
    },
  });
}

const taskInput = {
  type: 'object',
  properties: { task: { type: 'string', maxLength: 200 } },
  required: ['task'],
  additionalProperties: false,
} as const;

const prompt = ({ input }: { input: unknown }) => (input as { task: string }).task;

const pricing = defineWorkflow({
  name: 'breaker-tests',
  description: 'Calls an upstream that goes down and comes back.',
  input: taskInput,
  steps: [
    agent('price', {
      agent: defineAgent({
        name: 'pricer',
        model: 'claude-haiku-4-5',
        system: 'You price SKUs.',
        tools: [switchable('quotes'), switchable('rates')],
        maxTokens: 256,
      }),
      prompt,
    }),
  ],
  limits: { maxSteps: 6, maxToolFailures: 20 },
});

const fulfilment = defineWorkflow({
  name: 'cascade-tests',
  description: 'Every upstream is down.',
  input: taskInput,
  steps: [
    agent('fulfil', {
      agent: defineAgent({
        name: 'fulfiller',
        model: 'claude-haiku-4-5',
        system: 'You ship orders.',
        tools: [down('inventory'), down('shipping')],
        maxTokens: 256,
      }),
      prompt,
    }),
  ],
  limits: { maxSteps: 10, maxToolFailures: 2 },
});

let h: AgentHarness;

beforeAll(async () => {
  h = await AgentHarness.start([pricing, fulfilment]);
});
afterAll(async () => {
  await h.close();
});

/** The scripted model's requests of one run (its conversation key starts with the run id). */
const requestsOf = (runId: string) =>
  h.model.requests.filter((r) => r.conversation === runId || r.conversation.startsWith(`${runId}:`));

const toolCalls = (trail: StoredTrailEvent[]) =>
  trail.filter((e): e is Extract<StoredTrailEvent, { type: 'tool_call' }> => e.type === 'tool_call');

/**
 * The model asks for the tool named in the task ("quotes A-1") once, then
 * answers: one script for every run, so runs may overlap.
 */
const priceScript = responder('price', (request) => {
  const [tool = '', sku = ''] = String(request.body.messages[0]?.content ?? '').split(' ');
  return request.turnIndex === 0 ? toolUse(tool, { sku }) : text('done');
});

/** Start a run that calls `tool` once; the returned function waits for it and gives its one tool call. */
async function startCall(tool: 'quotes' | 'rates', sku: string) {
  const res = await h.api()(
    proxyEvent(
      'POST',
      '/runs',
      {},
      JSON.stringify({ workflow: 'breaker-tests', input: { task: `${tool} ${sku}` } }),
    ),
  );
  expect(res.statusCode).toBe(201);
  const { runId } = JSON.parse(res.body) as { runId: string };
  return async () => {
    const execution = await h.sfn.waitForExecution(
      `arn:aws:states:us-east-1:000000000000:execution:breaker-tests:${runId}`,
    );
    expect(execution.status).toBe('SUCCEEDED');
    const calls = toolCalls(await h.runs.listEvents(runId));
    expect(calls).toHaveLength(1);
    return { runId, call: calls[0] };
  };
}

const callOnce = async (tool: 'quotes' | 'rates', sku: string) => (await startCall(tool, sku))();

/**
 * Resolves once the tool's breaker is open until later than `after`: the next
 * run starts at once instead of after the previous run's tail, well inside the
 * 1 s cool-down. (The open time is written after the failure count, so waiting
 * on the count alone would race.)
 */
async function opensAfter(tool: string, after: number): Promise<BreakerState> {
  for (let i = 0; i < 500; i++) {
    const state = await h.breakers.get(tool);
    if (state.openUntil > after) return state;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`the circuit of ${tool} never opened`);
}

/**
 * Wait out the cool-down. The handlers run on the system clock (the harness
 * builds them from an environment, with no clock to inject), so this waits for
 * real, but only until the time the breaker itself recorded.
 */
async function coolDown(tool: string): Promise<void> {
  const { openUntil } = await h.breakers.get(tool);
  const wait = openUntil - Date.now() + 25;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

describe('per-tool circuit breaker across runs', () => {
  it('opens after failures in two runs, skips the call in a third, and closes after a good half-open trial', async () => {
    // Arrange: two runs whose calls fail after their retries.
    h.model.use(priceScript);
    const first = await callOnce('quotes', 'A-1');
    const finishSecond = await startCall('quotes', 'A-2');
    const opened = await opensAfter('quotes', Date.now());

    // Act: a later run asks for the tool while the circuit is open.
    const finishThird = await startCall('quotes', 'A-3');
    const second = await finishSecond();
    const third = await finishThird();

    // Assert: two failed calls (two attempts each) opened it; the third was not executed.
    expect([first.call?.status, second.call?.status]).toEqual(['error', 'error']);
    expect(opened.consecutiveFailures).toBe(2);
    expect(upstream.quotes.calls).toBe(4);
    expect(third.call?.status).toBe('circuit_open');
    expect(third.call?.attempts).toEqual([]);
    expect(Date.parse(third.call?.at ?? '')).toBeLessThan(opened.openUntil);
    expect(third.call?.result).toContain('"error":"CircuitOpen"');
    const sent = requestsOf(third.runId)
      .find((r) => r.turnIndex === 1)
      ?.body.messages.at(-1);
    expect(JSON.stringify(sent?.content)).toContain('circuit for quotes is open');

    // Act: after the cool-down, with the upstream back, one trial goes through.
    await coolDown('quotes');
    upstream.quotes.healthy = true;
    const trial = await callOnce('quotes', 'A-4');

    // Assert: the trial ran once and closed the circuit.
    expect(upstream.quotes.calls).toBe(5);
    expect(trial.call?.status).toBe('ok');
    expect(await h.breakers.get('quotes')).toEqual({ tool: 'quotes', consecutiveFailures: 0, openUntil: 0 });
  });

  it('re-opens for another cool-down when the half-open trial fails', async () => {
    h.model.use(priceScript);
    await callOnce('rates', 'B-1');
    await callOnce('rates', 'B-2');
    const { openUntil: firstOpenUntil } = await h.breakers.get('rates');
    await coolDown('rates');

    const finishTrial = await startCall('rates', 'B-3');
    await opensAfter('rates', firstOpenUntil);
    const finishAfter = await startCall('rates', 'B-4');
    const trial = await finishTrial();
    const afterTrial = await finishAfter();

    expect(trial.call?.status).toBe('error');
    expect(upstream.rates.calls).toBe(6); // the trial ran (2 attempts); the run after it did not call
    expect(afterTrial.call?.status).toBe('circuit_open');
    const reopened = await h.breakers.get('rates');
    expect(reopened.consecutiveFailures).toBe(3);
    expect(reopened.openUntil).toBeGreaterThan(firstOpenUntil);
  });
});

describe('workflow breaker within one run', () => {
  it('stops the run with CircuitOpen when its tool failures reach maxToolFailures', async () => {
    const alerts: string[] = [];
    h.services.events.on('alert', (a) => alerts.push(JSON.stringify(a)));
    h.model.use(
      scenario('cascade', [
        toolUse('inventory', { sku: 'C-1' }),
        toolUse('shipping', { sku: 'C-1' }),
        toolUse('inventory', { sku: 'C-2' }),
        text('never reached'),
      ]),
    );

    const { runId, execution } = await h.run('cascade-tests', { task: 'ship C-1' });

    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('CircuitOpen');
    const run = await h.runs.getRun(runId);
    expect(run?.status).toBe('STOPPED');
    expect(run?.stopReason).toBe('CircuitOpen');
    expect(run?.stopDetail).toContain('2 tool calls failed in this run');
    expect(upstream.inventory.calls + upstream.shipping.calls).toBe(2);
    expect(requestsOf(runId)).toHaveLength(2);
    const trail = await h.runs.listEvents(runId);
    expect(toolCalls(trail).map((c) => [c.tool, c.status])).toEqual([
      ['inventory', 'error'],
      ['shipping', 'error'],
    ]);
    expect(trail.at(-1)).toMatchObject({ type: 'run_finished', outcome: 'stopped', reason: 'CircuitOpen' });
    expect((await h.runs.getLedger(runId))?.toolFailures).toBe(2);
    expect(alerts.filter((a) => a.includes(runId))).toHaveLength(1);
  });
});
