/**
 * The local Lambda service: maps a function ARN or name to its handler module,
 * keeps one created handler per function (a warm container), passes a
 * Lambda-shaped context, enforces the function's timeout and reports errors
 * in the shape the Node.js Lambda runtime does, so Step Functions `Retry` and
 * `Catch` see the same names locally as in AWS.
 *
 * One deliberate difference: the error's stack trace is not put in the
 * outcome (where AWS puts it, and from where it would reach the execution's
 * `Cause`, the run record and `GET /runs/{id}`); it goes to `onInvoke` as
 * `errorStack`, for the log. Paths under the repository are made relative in
 * error messages, so no server path leaves through an API response.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { LambdaInvoker, LambdaOutcome } from '../sfn/lambda-invoker.js';
import { LOCAL_REGION } from './intrinsics.js';
import { REPO_ROOT } from './template.js';

/** Lambda's limit on a synchronous invocation's request and response payloads (6 MB). */
export const MAX_PAYLOAD_BYTES = 6_291_556;

/** What the runtime needs to know about one function. */
export interface FunctionSpec {
  name: string;
  arn: string;
  /** Handler file, repo-relative (as in the template's metadata) or absolute. */
  handlerPath: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** The environment handed to `createHandler(env)`. */
  env: Record<string, string>;
}

/** The context object a Node.js Lambda handler receives. */
export interface LocalLambdaContext {
  functionName: string;
  functionVersion: string;
  invokedFunctionArn: string;
  memoryLimitInMB: string;
  awsRequestId: string;
  logGroupName: string;
  logStreamName: string;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

/** A handler as `createHandler(env)` returns it. */
export type LocalHandler = (event: unknown, context: LocalLambdaContext) => unknown;

/** Options of {@link LocalLambdaRuntime}. */
export interface LocalLambdaRuntimeOptions {
  functions: FunctionSpec[];
  /** Root for repo-relative handler paths. @default the repository root */
  root?: string;
  /** Epoch ms now. @default Date.now */
  now?: () => number;
  /** Called after every invocation (progress output, benchmarks). */
  onInvoke?: (record: InvocationRecord) => void;
  /**
   * `worker`: each function in a worker thread of its own whose `process.env`
   * is the function's environment, invoked through the entry's exported
   * `handler` — the code path Lambda runs. `in-process`: the entry's
   * `createHandler(env)` in this process (fixtures that export only that).
   * @default 'in-process'
   */
  isolation?: 'worker' | 'in-process';
}

/** One finished invocation, as reported to `onInvoke`. */
export interface InvocationRecord {
  functionName: string;
  requestId: string;
  ok: boolean;
  errorType?: string;
  errorMessage?: string;
  /** The thrown error's stack, for logs only (never in the outcome). */
  errorStack?: string;
  durationMs: number;
  /** The event the function received. */
  event: unknown;
}

interface Warm {
  handler: LocalHandler;
  /** Ends the container (a worker thread) after a timeout or at close. */
  close?: () => Promise<void>;
}

/** The worker script: its TypeScript source when Chaperone runs from its sources, else the build. */
const WORKER_FILE = (() => {
  const source = fileURLToPath(new URL('./function-worker.ts', import.meta.url));
  return existsSync(source) ? source : fileURLToPath(new URL('./function-worker.js', import.meta.url));
})();

/** A worker's first script: tsx's ESM hooks, then the worker file. */
const WORKER_BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(pathToFileURL(WORKER_FILE).href)}); });`;

/**
 * The Node flags of a function's worker: this process's, plus the tsx loader
 * (the entry and the app's workflows module are TypeScript) and, when
 * Chaperone runs from its sources, the export condition that resolves the
 * `chaperone` package to them.
 */
function workerExecArgv(): string[] {
  // tsx registers itself in the worker (WORKER_BOOT); its process-level flags are left out.
  const argv = process.execArgv.filter(
    (a, i, all) => !a.includes('tsx') && !(all[i + 1] ?? '').includes('tsx'),
  );
  if (WORKER_FILE.endsWith('.ts') && !argv.some((a) => a.includes('chaperone-source')))
    argv.push('--conditions=chaperone-source');
  return argv;
}

/** A {@link LambdaInvoker} that runs the template's handlers in this process. */
export class LocalLambdaRuntime implements LambdaInvoker {
  private readonly byKey = new Map<string, FunctionSpec>();
  private readonly warm = new Map<string, Promise<Warm>>();
  private readonly counts = new Map<string, number>();
  private readonly root: string;
  private readonly now: () => number;
  private readonly onInvoke: ((record: InvocationRecord) => void) | undefined;

  private readonly isolation: 'worker' | 'in-process';

  constructor(options: LocalLambdaRuntimeOptions) {
    this.isolation = options.isolation ?? 'in-process';
    this.root = options.root ?? REPO_ROOT;
    this.now = options.now ?? Date.now;
    this.onInvoke = options.onInvoke;
    for (const fn of options.functions) {
      this.byKey.set(fn.name, fn);
      this.byKey.set(fn.arn, fn);
    }
  }

  /** The function known under this name, ARN or qualified ARN (`…:$LATEST`). */
  lookup(functionArnOrName: string): FunctionSpec | undefined {
    const direct = this.byKey.get(functionArnOrName);
    if (direct) return direct;
    const m = /^(arn:aws:lambda:[^:]+:\d{12}:function:[^:]+)(?::[^:]+)?$/.exec(functionArnOrName);
    return m?.[1] ? this.byKey.get(m[1]) : undefined;
  }

  /** Invocations per function name since start (or the last {@link resetCounts}). */
  invocationCounts(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /** Total invocations across all functions. */
  get totalInvocations(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  /** Zeroes the invocation counters (the benchmark measures between two points). */
  resetCounts(): void {
    this.counts.clear();
  }

  /** Invokes a function synchronously (RequestResponse), as Step Functions and API Gateway do. */
  async invoke(
    functionArnOrName: string,
    payload: unknown,
    options: { signal: AbortSignal },
  ): Promise<LambdaOutcome> {
    const requestId = randomUUID();
    const started = Date.now();
    const detailed = await this.run(functionArnOrName, payload, options.signal, requestId);
    const name = this.lookup(functionArnOrName)?.name ?? functionArnOrName;
    const errorStack =
      !detailed.ok && detailed.stackTrace?.length ? detailed.stackTrace.join('\n') : undefined;
    const outcome: LambdaOutcome = detailed.ok
      ? detailed
      : {
          ok: false,
          errorType: detailed.errorType,
          errorMessage: withoutRepoPaths(detailed.errorMessage),
          stackTrace: [],
        };
    this.onInvoke?.({
      functionName: name,
      requestId,
      ok: outcome.ok,
      ...(outcome.ok ? {} : { errorType: outcome.errorType, errorMessage: outcome.errorMessage }),
      ...(errorStack ? { errorStack } : {}),
      durationMs: Date.now() - started,
      event: payload,
    });
    return outcome;
  }

  private async run(
    functionArnOrName: string,
    payload: unknown,
    signal: AbortSignal,
    requestId: string,
  ): Promise<LambdaOutcome> {
    const options = { signal };
    const fn = this.lookup(functionArnOrName);
    if (!fn) {
      const arn = functionArnOrName.startsWith('arn:')
        ? functionArnOrName
        : `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:${functionArnOrName}`;
      return {
        ok: false,
        errorType: 'Lambda.ResourceNotFoundException',
        errorMessage: `Function not found: ${arn}:$LATEST (Service: AWSLambda; Status Code: 404; Error Code: ResourceNotFoundException; Request ID: ${requestId}; Proxy: null)`,
      };
    }
    this.counts.set(fn.name, (this.counts.get(fn.name) ?? 0) + 1);
    const timeoutMs = fn.timeoutSeconds * 1000;
    const deadline = this.now() + timeoutMs;
    let warm: Warm;
    try {
      warm = await this.container(fn);
    } catch (err) {
      this.warm.delete(fn.name);
      return toOutcome(err);
    }
    // Lambda hands the function a JSON copy of the event and serialises the result.
    const eventText = JSON.stringify(payload ?? null);
    if (Buffer.byteLength(eventText) > MAX_PAYLOAD_BYTES) {
      return {
        ok: false,
        errorType: 'Lambda.RequestTooLargeException',
        errorMessage: `Request must be smaller than ${MAX_PAYLOAD_BYTES} bytes for the InvokeFunction operation (Service: AWSLambda; Status Code: 413; Error Code: RequestTooLargeException; Request ID: ${requestId}; Proxy: null)`,
      };
    }
    const event: unknown = JSON.parse(eventText);
    const context = lambdaContext(fn, requestId, () => Math.max(0, deadline - this.now()));
    return new Promise<LambdaOutcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        finish();
        // A timed-out sandbox is thrown away: the next invocation is a cold start.
        this.warm.delete(fn.name);
        void warm.close?.();
        resolve({
          ok: false,
          errorType: 'Sandbox.Timedout',
          errorMessage: `RequestId: ${requestId} Error: Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`,
        });
      }, timeoutMs);
      const onAbort = (): void => {
        finish();
        reject(options.signal.reason ?? new Error('invocation aborted'));
      };
      const finish = (): void => {
        clearTimeout(timer);
        options.signal.removeEventListener('abort', onAbort);
      };
      if (options.signal.aborted) return onAbort();
      options.signal.addEventListener('abort', onAbort, { once: true });
      Promise.resolve()
        .then(() => warm.handler(event, context))
        .then(
          (result) => {
            finish();
            resolve(serialise(result));
          },
          (err: unknown) => {
            finish();
            resolve(toOutcome(err));
          },
        );
    });
  }

  /** Loads the module and creates the handler once per function (the warm container). */
  private container(fn: FunctionSpec): Promise<Warm> {
    let warm = this.warm.get(fn.name);
    if (!warm) {
      warm = this.load(fn);
      this.warm.set(fn.name, warm);
    }
    return warm;
  }

  /** Ends every container (worker threads). */
  async close(): Promise<void> {
    const warm = [...this.warm.values()];
    this.warm.clear();
    await Promise.all(warm.map((w) => w.then((c) => c.close?.()).catch(() => undefined)));
  }

  private async load(fn: FunctionSpec): Promise<Warm> {
    const file = isAbsolute(fn.handlerPath) ? fn.handlerPath : join(this.root, fn.handlerPath);
    if (this.isolation === 'worker') return this.startWorker(fn, file);
    let mod: unknown;
    try {
      mod = await import(pathToFileURL(file).href);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      throw named(
        'Runtime.ImportModuleError',
        `Error: Cannot load handler module ${fn.handlerPath}: ${e.message}`,
        e,
      );
    }
    const create =
      typeof mod === 'object' && mod !== null
        ? (mod as { createHandler?: unknown }).createHandler
        : undefined;
    if (typeof create !== 'function') {
      throw named('Runtime.HandlerNotFound', `${fn.handlerPath}.createHandler is undefined or not exported`);
    }
    const handler: unknown = await create({ ...fn.env });
    if (typeof handler !== 'function') {
      throw named(
        'Runtime.HandlerNotFound',
        `${fn.handlerPath}.createHandler(env) did not return a function`,
      );
    }
    return { handler: (event, context) => handler(event, context) };
  }

  private startWorker(fn: FunctionSpec, file: string): Promise<Warm> {
    return startWorkerContainer(fn, file, () => {
      this.warm.delete(fn.name);
    });
  }
}

/** One function's container: a worker thread with the function's environment as its `process.env`. */
async function startWorkerContainer(fn: FunctionSpec, file: string, onGone: () => void): Promise<Warm> {
  // The script registers tsx's hooks first, so the TypeScript worker file, the entry and the
  // app's workflows module load as they do in this process.
  const worker = new Worker(WORKER_BOOT, {
    eval: true,
    env: { ...process.env, ...fn.env },
    workerData: { entry: file },
    execArgv: workerExecArgv(),
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  let next = 0;
  let exited = false;
  await new Promise<void>((resolve, reject) => {
    const onMessage = (m: { ready?: boolean }) => {
      if (!m.ready) return;
      worker.off('message', onMessage);
      resolve();
    };
    worker.on('message', onMessage);
    worker.once('error', (err) =>
      reject(
        named(
          'Runtime.ImportModuleError',
          `Error: Cannot load handler module ${fn.handlerPath}: ${err.message}`,
          err,
        ),
      ),
    );
  });
  worker.on(
    'message',
    (m: {
      id?: number;
      ok?: boolean;
      payloadText?: string;
      error?: { name: string; message: string; stack?: string };
    }) => {
      if (m.id === undefined) return;
      const waiter = pending.get(m.id);
      if (!waiter) return;
      pending.delete(m.id);
      if (m.ok) waiter.resolve(m.payloadText === undefined ? undefined : JSON.parse(m.payloadText));
      else {
        const err = new Error(m.error?.message ?? 'the function failed');
        err.name = m.error?.name ?? 'Error';
        if (m.error?.stack) err.stack = m.error.stack;
        waiter.reject(err);
      }
    },
  );
  const gone = (why: string) => {
    exited = true;
    onGone();
    for (const waiter of pending.values())
      waiter.reject(named('Runtime.ExitError', `RequestId: … Error: Runtime exited: ${why}`));
    pending.clear();
  };
  worker.on('error', (err) => gone(err.message));
  worker.on('exit', (code) => gone(`exit status ${code}`));
  return {
    handler: (event, context) =>
      new Promise((resolve, reject) => {
        if (exited) return reject(named('Runtime.ExitError', 'Error: Runtime exited before the invocation'));
        const id = ++next;
        pending.set(id, { resolve, reject });
        const { getRemainingTimeInMillis, callbackWaitsForEmptyEventLoop: _wait, ...fields } = context;
        worker.postMessage({
          id,
          event,
          context: { ...fields, deadline: Date.now() + getRemainingTimeInMillis() },
        });
      }),
    close: async () => {
      await worker.terminate();
    },
  };
}

function named(name: string, message: string, cause?: Error): Error {
  const err = new Error(message, cause ? { cause } : undefined);
  err.name = name;
  return err;
}

function lambdaContext(fn: FunctionSpec, requestId: string, remaining: () => number): LocalLambdaContext {
  return {
    functionName: fn.name,
    functionVersion: '$LATEST',
    invokedFunctionArn: fn.arn,
    memoryLimitInMB: String(fn.memoryMb),
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${fn.name}`,
    logStreamName: `local/[$LATEST]${requestId.replaceAll('-', '')}`,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: remaining,
  };
}

/** The payload as Lambda returns it: JSON-serialised (undefined becomes null). */
function serialise(result: unknown): LambdaOutcome {
  try {
    const text = JSON.stringify(result);
    if (text !== undefined && Buffer.byteLength(text) > MAX_PAYLOAD_BYTES) {
      return {
        ok: false,
        errorType: 'Function.ResponseSizeTooLarge',
        errorMessage: `Response payload size exceeded maximum allowed payload size (${MAX_PAYLOAD_BYTES} bytes).`,
      };
    }
    return { ok: true, payload: text === undefined ? null : JSON.parse(text) };
  } catch (err) {
    return toOutcome(
      named(
        'Runtime.MarshalError',
        `Unable to stringify response body: ${err instanceof Error ? err.message : String(err)}`,
      ),
    );
  }
}

/** The message with the repository's absolute path (and file URL) made relative. */
export function withoutRepoPaths(message: string): string {
  const root = REPO_ROOT.replace(/[/\\]+$/, '');
  return message
    .split(`${pathToFileURL(root).href}/`)
    .join('')
    .split(`${root}/`)
    .join('')
    .split(root)
    .join('.');
}

/**
 * A thrown value as the Node.js Lambda runtime reports it: an Error becomes
 * `{ errorType: name, errorMessage: message, trace: stack lines }`, anything
 * else `{ errorType: typeof value, errorMessage: String(value) }`.
 */
export function toOutcome(err: unknown): LambdaOutcome {
  if (err instanceof Error) {
    return {
      ok: false,
      errorType: err.name,
      errorMessage: err.message,
      stackTrace: (err.stack ?? '').split('\n'),
    };
  }
  return { ok: false, errorType: typeof err, errorMessage: String(err), stackTrace: [] };
}
