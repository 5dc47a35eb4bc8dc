import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveInProcess } from '../../lambdas/adapters/in-process-endpoints.js';
import { readRequestBody } from '../aws/http-body.js';
import { LOCAL_CREDENTIALS, type LocalCredentials } from '../aws/local-credentials.js';
import { verifySigV4 } from '../aws/sigv4-verify.js';
import { SfnApiError } from './errors.js';
import type { LocalStepFunctions } from './service.js';
import { isObject } from './types.js';

/** Options for {@link startSfnApiServer}. */
export interface SfnApiServerOptions {
  /** @default 0 (a random free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /**
   * The only key pair whose SigV4 signatures are accepted: an unsigned or
   * foreign request (a task callback from another process) gets 403 and
   * changes nothing. @default {@link LOCAL_CREDENTIALS}
   */
  credentials?: LocalCredentials;
  /**
   * Also answer this thread's handlers by a call instead of a socket
   * (`lambdas/adapters/in-process-endpoints.ts`): the same request and answer
   * bytes, unsigned, as the local DynamoDB does. @default true
   */
  inProcess?: boolean;
}

/** A running API server. */
export interface SfnApiServer {
  /** Base URL to pass as the SDK's `endpoint`. */
  url: string;
  close(): Promise<void>;
}

type Op = (sfn: LocalStepFunctions, body: Record<string, unknown>) => unknown;

function str(body: Record<string, unknown>, key: string, required = true): string {
  const v = body[key];
  if (typeof v === 'string') return v;
  if (v === undefined && !required) return undefined as unknown as string;
  throw new SfnApiError(
    'ValidationException',
    `1 validation error detected: Value at '${key}' failed to satisfy constraint: Member must not be null`,
  );
}

function optStr(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  return typeof v === 'string' ? v : undefined;
}

function optNum(body: Record<string, unknown>, key: string): number | undefined {
  const v = body[key];
  return typeof v === 'number' ? v : undefined;
}

const ops: Record<string, Op> = {
  // Answered once the new execution's meta.json is on disk: the caller may act on the answer.
  StartExecution: async (s, b) => {
    const started = s.startExecution({
      stateMachineArn: str(b, 'stateMachineArn'),
      name: optStr(b, 'name'),
      input: optStr(b, 'input'),
    });
    await s.durable();
    return started;
  },
  DescribeExecution: (s, b) => s.describeExecution({ executionArn: str(b, 'executionArn') }),
  GetExecutionHistory: (s, b) =>
    s.getExecutionHistory({
      executionArn: str(b, 'executionArn'),
      maxResults: optNum(b, 'maxResults'),
      nextToken: optStr(b, 'nextToken'),
      reverseOrder: b.reverseOrder === true,
      includeExecutionData: b.includeExecutionData !== false,
    }),
  ListExecutions: (s, b) =>
    s.listExecutions({
      stateMachineArn: optStr(b, 'stateMachineArn'),
      statusFilter: optStr(b, 'statusFilter'),
      maxResults: optNum(b, 'maxResults'),
      nextToken: optStr(b, 'nextToken'),
    }),
  StopExecution: (s, b) =>
    s.stopExecution({
      executionArn: str(b, 'executionArn'),
      error: optStr(b, 'error'),
      cause: optStr(b, 'cause'),
    }),
  RedriveExecution: (s, b) =>
    s.redriveExecution({ executionArn: str(b, 'executionArn'), clientToken: optStr(b, 'clientToken') }),
  SendTaskSuccess: (s, b) => s.sendTaskSuccess({ taskToken: str(b, 'taskToken'), output: str(b, 'output') }),
  SendTaskFailure: (s, b) =>
    s.sendTaskFailure({
      taskToken: str(b, 'taskToken'),
      error: optStr(b, 'error'),
      cause: optStr(b, 'cause'),
    }),
  SendTaskHeartbeat: (s, b) => s.sendTaskHeartbeat({ taskToken: str(b, 'taskToken') }),
  CreateStateMachine: (s, b) =>
    s.createStateMachine({
      name: str(b, 'name'),
      definition: str(b, 'definition'),
      roleArn: optStr(b, 'roleArn'),
      type: optStr(b, 'type'),
    }),
  ListStateMachines: (s) => s.listStateMachines(),
  DescribeStateMachine: (s, b) => s.describeStateMachine({ stateMachineArn: str(b, 'stateMachineArn') }),
};

const NO_BYTES = Buffer.alloc(0);

/** AWS JSON 1.0 carries timestamps as epoch seconds. */
function toWire(value: unknown): unknown {
  if (value instanceof Date) return value.getTime() / 1000;
  if (Array.isArray(value)) return value.map(toWire);
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toWire(v);
    return out;
  }
  return value;
}

/** An answer before it is written: its status and JSON body. */
interface Answer {
  status: number;
  body: unknown;
}

const failure = (code: string, message: string, status = 400): Answer => ({
  status,
  body: { __type: `com.amazonaws.swf.service.v2.model#${code}`, message },
});

/** One API call, whichever way it came (HTTP after its signature check, or a call in this process). */
async function operate(
  sfn: LocalStepFunctions,
  method: string,
  target: string,
  /** The body's bytes, or (in process) its JSON value. */
  raw: Buffer | { value: unknown },
): Promise<Answer> {
  const op = target.startsWith('AWSStepFunctions.')
    ? ops[target.slice('AWSStepFunctions.'.length)]
    : undefined;
  if (method !== 'POST' || !op) return failure('UnknownOperationException', `Unknown operation ${target}`);
  let body: unknown;
  if (Buffer.isBuffer(raw))
    try {
      const text = raw.toString('utf8');
      body = text ? JSON.parse(text) : {};
    } catch {
      return failure('SerializationException', 'Request body is not valid JSON');
    }
  else body = raw.value;
  if (!isObject(body)) return failure('SerializationException', 'Request body must be a JSON object');
  try {
    return { status: 200, body: toWire(await op(sfn, body)) };
  } catch (err) {
    if (err instanceof SfnApiError) return failure(err.code, err.message);
    // An unexpected failure's message may name server paths: the caller gets only its kind.
    return failure('InternalFailure', 'internal failure', 500);
  }
}

function wire(answer: Answer): { headers: Record<string, string | number>; text: string } {
  const text = JSON.stringify(answer.body);
  return {
    text,
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(text),
      'x-amzn-requestid': crypto.randomUUID(),
    },
  };
}

function send(res: ServerResponse, answer: Answer): void {
  const { headers, text } = wire(answer);
  res.writeHead(answer.status, headers);
  res.end(text);
}

async function handle(
  sfn: LocalStepFunctions,
  req: IncomingMessage,
  res: ServerResponse,
  credentials: LocalCredentials,
): Promise<void> {
  const raw = await readRequestBody(req);
  const refused = verifySigV4(
    { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: raw },
    credentials,
  );
  if (refused) return send(res, failure(refused.code, refused.message, 403));
  send(res, await operate(sfn, req.method ?? 'GET', String(req.headers['x-amz-target'] ?? ''), raw));
}

/** Serves the Step Functions API (AWS JSON 1.0) for `sfn` on localhost. */
export async function startSfnApiServer(
  sfn: LocalStepFunctions,
  opts: SfnApiServerOptions = {},
): Promise<SfnApiServer> {
  const server = createServer((req, res) => {
    handle(sfn, req, res, opts.credentials ?? LOCAL_CREDENTIALS).catch(() =>
      send(res, failure('InternalFailure', 'internal failure', 500)),
    );
  });
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host}:${port}`;
  const stopInProcess =
    opts.inProcess === false
      ? undefined
      : serveInProcess(
          url,
          async (req) => {
            const asValue = req.value !== undefined;
            const answer = await operate(
              sfn,
              req.method,
              req.headers['x-amz-target'] ?? '',
              asValue ? { value: req.value } : req.body,
            );
            // A request handed over as its value is answered with one (toWire's copy) on success.
            if (asValue && answer.status === 200)
              return {
                status: 200,
                headers: {
                  'content-type': 'application/x-amz-json-1.0',
                  'x-amzn-requestid': crypto.randomUUID(),
                },
                body: NO_BYTES,
                value: answer.body,
              };
            const { headers, text } = wire(answer);
            return {
              status: answer.status,
              headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)])),
              body: Buffer.from(text),
            };
          },
          { values: true },
        );
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        stopInProcess?.();
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
