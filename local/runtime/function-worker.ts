/**
 * One local Lambda function in a worker thread of its own, as Lambda runs it
 * in a sandbox of its own: `process.env` is that function's environment (as
 * the template gives it), and what runs is the entry file's exported
 * `handler` — the code path `cdk deploy` ships — called with a Lambda-shaped
 * context. The parent posts `{ id, event, context }`; the worker answers
 * `{ id, ok, payload }` or `{ id, ok: false, error }`.
 */

import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';

interface Invocation {
  id: number;
  event: unknown;
  context: {
    functionName: string;
    functionVersion: string;
    invokedFunctionArn: string;
    memoryLimitInMB: string;
    awsRequestId: string;
    logGroupName: string;
    logStreamName: string;
    deadline: number;
  };
}

const port = parentPort;
if (!port) throw new Error('function-worker.ts runs only as a worker thread');
const { entry } = workerData as { entry: string };

type Handler = (event: unknown, context: unknown) => unknown;
let handler: Handler | undefined;
let loadError: { name: string; message: string; stack?: string } | undefined;
try {
  const mod = (await import(pathToFileURL(entry).href)) as { handler?: unknown };
  if (typeof mod.handler === 'function') handler = mod.handler as Handler;
  else
    loadError = { name: 'Runtime.HandlerNotFound', message: `${entry}.handler is undefined or not exported` };
} catch (err) {
  const e = err instanceof Error ? err : new Error(String(err));
  loadError = {
    name: 'Runtime.ImportModuleError',
    message: `Error: Cannot load handler module ${entry}: ${e.message}`,
    ...(e.stack ? { stack: e.stack } : {}),
  };
}

port.on('message', (message: Invocation) => {
  const { id, event, context } = message;
  if (!handler) {
    port.postMessage({ id, ok: false, error: loadError });
    return;
  }
  const lambdaContext = {
    ...context,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, context.deadline - Date.now()),
  };
  Promise.resolve()
    .then(() => (handler as Handler)(event, lambdaContext))
    .then(
      (payload) => {
        // Lambda serialises the result: what is not JSON does not arrive.
        const text = JSON.stringify(payload);
        port.postMessage({ id, ok: true, payloadText: text });
      },
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        port.postMessage({
          id,
          ok: false,
          error: { name: e.name || 'Error', message: e.message, stack: e.stack },
        });
      },
    );
});
port.postMessage({ ready: true });
