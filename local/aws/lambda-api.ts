/**
 * The Lambda `Invoke` API on loopback (`POST /2015-03-31/functions/{name}/invocations`),
 * so the tool step's Invoke (`lambdas/adapters/lambda-tools.ts`) reaches each
 * tool's own function as it does in AWS. Requests must be SigV4-signed with the data
 * directory's key pair; answers are shaped as Lambda's: the payload, and
 * `X-Amz-Function-Error: Unhandled` with `{ errorType, errorMessage }` for a
 * function error.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LambdaInvoker } from '../sfn/lambda-invoker.js';
import { readRequestBody } from './http-body.js';
import { LOCAL_CREDENTIALS, type LocalCredentials } from './local-credentials.js';
import { verifySigV4 } from './sigv4-verify.js';

/** A running local Lambda API. */
export interface LocalLambdaApi {
  url: string;
  close(): Promise<void>;
}

const INVOKE = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** Starts the Invoke API in front of `invoker` (the local Lambda runtime). */
export async function startLambdaApi(options: {
  invoker: LambdaInvoker;
  credentials?: LocalCredentials;
  port?: number;
}): Promise<LocalLambdaApi> {
  const server = createServer((req, res) => {
    void handle(req, res, options).catch((err: unknown) => {
      send(
        res,
        500,
        { message: `local Lambda API failed: ${err instanceof Error ? err.message : String(err)}` },
        {
          'x-amzn-errortype': 'ServiceException',
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  options: { invoker: LambdaInvoker; credentials?: LocalCredentials },
): Promise<void> {
  const raw = await readRequestBody(req);
  const refused = verifySigV4(
    { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body: raw },
    options.credentials ?? LOCAL_CREDENTIALS,
  );
  if (refused) return send(res, 403, { message: refused.message }, { 'x-amzn-errortype': refused.code });
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const name = INVOKE.exec(path)?.[1];
  if (req.method !== 'POST' || !name)
    return send(
      res,
      404,
      { message: `no such Lambda API route: ${req.method} ${path}` },
      {
        'x-amzn-errortype': 'ResourceNotFoundException',
      },
    );
  const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
  if (type !== 'RequestResponse')
    return send(
      res,
      400,
      { message: `only RequestResponse invocations run locally, not ${type}` },
      {
        'x-amzn-errortype': 'InvalidParameterValueException',
      },
    );
  let payload: unknown;
  try {
    payload = raw.length === 0 ? {} : JSON.parse(raw.toString('utf8'));
  } catch {
    return send(
      res,
      400,
      { message: 'Could not parse request body into json' },
      {
        'x-amzn-errortype': 'InvalidRequestContentException',
      },
    );
  }
  const controller = new AbortController();
  req.on('close', () => {
    if (!res.writableEnded) controller.abort(new Error('the caller went away'));
  });
  const outcome = await options.invoker.invoke(decodeURIComponent(name), payload, {
    signal: controller.signal,
  });
  if (outcome.ok) return send(res, 200, outcome.payload ?? null, { 'x-amz-executed-version': '$LATEST' });
  if (outcome.errorType.startsWith('Lambda.')) {
    const code = outcome.errorType.slice('Lambda.'.length);
    return send(
      res,
      code === 'ResourceNotFoundException' ? 404 : 500,
      { message: outcome.errorMessage },
      {
        'x-amzn-errortype': code,
      },
    );
  }
  send(
    res,
    200,
    { errorType: outcome.errorType, errorMessage: outcome.errorMessage },
    { 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': '$LATEST' },
  );
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), ...headers });
  res.end(JSON.stringify(body));
}
