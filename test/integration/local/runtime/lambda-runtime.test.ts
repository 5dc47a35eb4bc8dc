import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type FunctionSpec, LocalLambdaRuntime } from '../../../../local/runtime/lambda-runtime.js';

const fixtures = fileURLToPath(new URL('./fixtures/', import.meta.url));
const arn = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;
const fn = (name: string, file: string, extra: Partial<FunctionSpec> = {}): FunctionSpec => ({
  name,
  arn: arn(name),
  handlerPath: `${fixtures}${file}`,
  timeoutSeconds: 3,
  memoryMb: 256,
  env: {},
  ...extra,
});
const signal = () => new AbortController().signal;

describe('LocalLambdaRuntime', () => {
  it('runs the handler built by createHandler(env) with a Lambda-shaped context, warm across calls', async () => {
    const runtime = new LocalLambdaRuntime({
      functions: [fn('Echo', 'echo-handler.ts', { env: { GREETING: 'hello' } })],
    });

    const first = await runtime.invoke(arn('Echo'), { a: 1 }, { signal: signal() });
    const second = await runtime.invoke('Echo', { a: 2 }, { signal: signal() });

    expect(first).toMatchObject({
      ok: true,
      payload: {
        event: { a: 1 },
        greeting: 'hello',
        functionName: 'Echo',
        invokedFunctionArn: arn('Echo'),
        memoryLimitInMB: '256',
        hasRequestId: true,
        at: '1970-01-01T00:00:00.000Z',
      },
    });
    const payload = first.ok ? (first.payload as { remainingMs: number; instance: number }) : undefined;
    expect(payload?.remainingMs).toBeGreaterThan(2000);
    expect(second).toMatchObject({ ok: true, payload: { instance: payload?.instance } });
    expect(runtime.invocationCounts()).toEqual({ Echo: 2 });
  });

  it('gives each function its own environment in one process', async () => {
    const runtime = new LocalLambdaRuntime({
      functions: [
        fn('A', 'echo-handler.ts', { env: { GREETING: 'from A' } }),
        fn('B', 'echo-handler.ts', { env: { GREETING: 'from B' } }),
      ],
    });

    const [a, b] = await Promise.all([
      runtime.invoke('A', {}, { signal: signal() }),
      runtime.invoke('B', {}, { signal: signal() }),
    ]);

    expect(a).toMatchObject({ ok: true, payload: { greeting: 'from A' } });
    expect(b).toMatchObject({ ok: true, payload: { greeting: 'from B' } });
  });

  it('times out like Lambda (Sandbox.Timedout) and cold-starts the next invocation', async () => {
    const runtime = new LocalLambdaRuntime({
      functions: [fn('Slow', 'slow-handler.ts', { timeoutSeconds: 0.05 })],
    });
    const warm = await runtime.invoke('Slow', { sleepMs: 0 }, { signal: signal() });

    const outcome = await runtime.invoke('Slow', { sleepMs: 500 }, { signal: signal() });
    const after = await runtime.invoke('Slow', { sleepMs: 0 }, { signal: signal() });

    expect(outcome).toMatchObject({ ok: false, errorType: 'Sandbox.Timedout' });
    expect(outcome.ok ? '' : outcome.errorMessage).toMatch(/Task timed out after 0\.05 seconds$/);
    const instance = (o: typeof warm) => (o.ok ? (o.payload as { instance: number }).instance : -1);
    expect(instance(after)).toBe(instance(warm) + 1);
  });

  it('reports a thrown error by name and message; its stack goes to the log, not the outcome', async () => {
    const logged: Array<string | undefined> = [];
    const runtime = new LocalLambdaRuntime({
      functions: [fn('Thrower', 'throwing-handler.ts')],
      onInvoke: (r) => logged.push(r.errorStack),
    });

    const named = await runtime.invoke('Thrower', { kind: 'named' }, { signal: signal() });
    const plain = await runtime.invoke('Thrower', { kind: 'string' }, { signal: signal() });

    expect(named).toMatchObject({
      ok: false,
      errorType: 'InvoiceNotFoundError',
      errorMessage: 'no invoice INV-000404',
    });
    expect(named.ok ? ['?'] : named.stackTrace).toEqual([]);
    expect(logged[0]?.split('\n')[0]).toBe('InvoiceNotFoundError: no invoice INV-000404');
    expect(logged[0]).toContain('throwing-handler.ts');
    expect(plain).toEqual({
      ok: false,
      errorType: 'string',
      errorMessage: 'plain string failure',
      stackTrace: [],
    });
  });

  it('answers ResourceNotFoundException for an unknown function and HandlerNotFound without createHandler', async () => {
    const runtime = new LocalLambdaRuntime({ functions: [fn('Old', 'handler-only.ts')] });

    const missing = await runtime.invoke(arn('Nope'), {}, { signal: signal() });
    const old = await runtime.invoke('Old', {}, { signal: signal() });

    expect(missing).toMatchObject({ ok: false, errorType: 'Lambda.ResourceNotFoundException' });
    expect(old).toMatchObject({ ok: false, errorType: 'Runtime.HandlerNotFound' });
  });

  it("refuses payloads over Lambda's 6 MB limit, both ways", async () => {
    const runtime = new LocalLambdaRuntime({ functions: [fn('Big', 'big-handler.ts')] });

    const request = await runtime.invoke(
      'Big',
      { bytes: 1, pad: 'x'.repeat(6_300_000) },
      { signal: signal() },
    );
    const response = await runtime.invoke('Big', { bytes: 6_300_000 }, { signal: signal() });
    const fits = await runtime.invoke('Big', { bytes: 6_000_000 }, { signal: signal() });

    expect(request).toMatchObject({ ok: false, errorType: 'Lambda.RequestTooLargeException' });
    expect(response).toMatchObject({ ok: false, errorType: 'Function.ResponseSizeTooLarge' });
    expect(fits.ok).toBe(true);
  });
});
