import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSfnEngine } from '../../../../lambdas/adapters/sfn-engine.js';
import { EngineThrottledError } from '../../../../lambdas/core/errors.js';
import type { WorkflowEngine } from '../../../../lambdas/core/ports.js';
import { LocalStepFunctions, MapLambdaInvoker, startSfnApiServer } from '../../../../local/sfn/index.js';

/**
 * The handlers' Step Functions client (`sfn-engine.ts`: the JSON protocol
 * without the SDK) over HTTP, signed, against the local API server, which
 * checks every signature: what the local stack's functions and Lambda send.
 */
let sfn: LocalStepFunctions;
let server: { url: string; close(): Promise<void> };
let engine: WorkflowEngine;
let direct: { url: string; close(): Promise<void> };
let engines: Record<'HTTP' | 'a call in this process', WorkflowEngine>;
const tokens: string[] = [];
const smArn = 'arn:aws:states:us-east-1:000000000000:stateMachine:engine';
const execArn = (name: string) => `arn:aws:states:us-east-1:000000000000:execution:engine:${name}`;

async function until<T>(probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('timed out');
}

async function settled(arn: string): Promise<{ status: string; error?: string; cause?: string }> {
  for (let i = 0; i < 400; i++) {
    const d = await engine.describeExecution(arn);
    if (d && d.status !== 'RUNNING') return d;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${arn} did not end`);
}

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  sfn = new LocalStepFunctions({
    invoker: new MapLambdaInvoker({ ask: (e) => void tokens.push((e as { token: string }).token) }),
  });
  sfn.registerStateMachine(smArn, {
    QueryLanguage: 'JSONata',
    StartAt: 'Ask',
    States: {
      Ask: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
        Arguments: { FunctionName: 'ask', Payload: { token: '{% $states.context.Task.Token %}' } },
        End: true,
      },
    },
  });
  // Over the socket only: this thread's handlers would otherwise be answered by a call.
  server = await startSfnApiServer(sfn, { inProcess: false });
  engine = createSfnEngine({ region: 'us-east-1', endpoint: server.url });
  // The same API answered by a call in this thread (requests and answers cross as values).
  direct = await startSfnApiServer(sfn);
  engines = {
    HTTP: engine,
    'a call in this process': createSfnEngine({ region: 'us-east-1', endpoint: direct.url }),
  };
});

afterAll(async () => {
  await direct?.close();
  await server?.close();
  await sfn?.close();
});

describe("the handlers' Step Functions client against the local API over HTTP", () => {
  for (const via of ['HTTP', 'a call in this process'] as const) {
    it(`starts, resolves a repeated start to the same execution, answers the token, and counts its history (${via})`, async () => {
      const engine = engines[via];
      const name = `one-${via.length}`;
      const asked = tokens.length;
      const arn = await engine.startExecution(smArn, name, '{"n":1}');
      expect(arn).toBe(execArn(name));
      // The same name and input again (a retried POST): the same execution.
      expect(await engine.startExecution(smArn, name, '{"n":1}')).toBe(arn);
      const token = await until(() => tokens[asked]);
      expect(await engine.describeExecution(arn)).toEqual({ status: 'RUNNING' });
      await engine.sendTaskSuccess(token, '{"approved":true}');
      expect(await settled(arn)).toEqual({ status: 'SUCCEEDED' });
      const figures = await engine.historyFigures(arn);
      const history = sfn.getExecutionHistory({ executionArn: arn });
      expect(figures).toEqual({ events: history.events.length, transitions: 1 });
    });

    it(`fails an execution with the error and cause given, and names what does not exist (${via})`, async () => {
      const engine = engines[via];
      const asked = tokens.length;
      const arn = await engine.startExecution(smArn, `two-${via.length}`, '{}');
      const token = await until(() => tokens[asked]);
      await engine.sendTaskFailure(token, 'Rejected', 'the approver said no');
      expect(await settled(arn)).toEqual({
        status: 'FAILED',
        error: 'Rejected',
        cause: 'the approver said no',
      });
      expect(await engine.describeExecution(execArn('never-started'))).toBeUndefined();
      expect(await engine.historyFigures(execArn('never-started'))).toBeUndefined();
      await expect(engine.sendTaskSuccess('not-a-token', '{}')).rejects.toMatchObject({
        name: 'InvalidToken',
      });
      await expect(engine.startExecution(smArn, 'bad name!', '{}')).rejects.toMatchObject({
        name: 'InvalidName',
        $metadata: { httpStatusCode: 400, attempts: 1 },
      });
    });
  }

  it('is refused, by name, when its signature is not the one the server accepts', async () => {
    const saved = process.env.AWS_SECRET_ACCESS_KEY;
    process.env.AWS_SECRET_ACCESS_KEY = 'someone-else';
    try {
      const stranger = createSfnEngine({ region: 'us-east-1', endpoint: server.url });
      const refused = await stranger.describeExecution(execArn('one')).catch((err: Error) => err);
      expect(refused).toBeInstanceOf(Error);
      expect((refused as Error & { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(
        403,
      );
    } finally {
      process.env.AWS_SECRET_ACCESS_KEY = saved;
    }
  });

  it('retries a throttle as the SDK does (3 attempts) and then names it EngineThrottledError', async () => {
    let requests = 0;
    const throttling = createServer((req, res) => {
      requests += 1;
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(
          JSON.stringify({
            __type: 'com.amazonaws.swf.service.v2.model#ThrottlingException',
            message: 'Rate exceeded',
          }),
        );
      });
    });
    await new Promise<void>((r) => throttling.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(throttling.address() as AddressInfo).port}`;
      const throttled = createSfnEngine({ region: 'us-east-1', endpoint: url });
      const err = await throttled.startExecution(smArn, 'three', '{}').catch((e: Error) => e);
      expect(err).toBeInstanceOf(EngineThrottledError);
      expect((err as Error).message).toContain('Rate exceeded');
      expect(requests).toBe(3);
    } finally {
      throttling.closeAllConnections();
      await new Promise((r) => throttling.close(r));
    }
  });
});
