/**
 * The whole stack on a laptop, from the same synthesised template as AWS:
 * dynalite (DynamoDB), the SES/SNS/Secrets Manager stand-in, the scripted
 * model (or the Anthropic API), the Step Functions interpreter with its API,
 * the handlers in this process, and the REST API on 127.0.0.1.
 *
 * Everything durable lives in `dataDir` (tables, execution journals, the
 * HMAC key, the API port), so a restarted stack resumes where it stopped:
 * running executions continue and pending approval links still work.
 */
import { EventEmitter } from 'node:events';
import { chmodSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../aws/dynamodb.js';
import { startLambdaApi } from '../aws/lambda-api.js';
import {
  CREDENTIALS_FILE,
  dataDirCredentials,
  LOCAL_REGION,
  type LocalCredentials,
} from '../aws/local-credentials.js';
import { LocalSecrets, type SecretSpec } from '../aws/secrets.js';
import {
  type LocalAlert,
  type LocalServices,
  type OutboxEmail,
  startLocalServices,
} from '../aws/services.js';
import { type Durability, durabilityFromEnv, durabilityOption } from '../durability.js';
import { LocalVectorStore, vectorIndexesOf } from '../memory/s3vectors-store.js';
import type { Scenario } from '../scripted-model/index.js';
import { ScriptedModel } from '../scripted-model/index.js';
import { type Clock, LocalStepFunctions, type SfnApiServer, startSfnApiServer } from '../sfn/index.js';
import type { LambdaInvoker } from '../sfn/lambda-invoker.js';
import { type LocalApiGateway, type RequestLogEntry, startApiGateway } from './api-gateway.js';
import { LocalRuntimeError } from './errors.js';
import { type LocalEndpoints, localFunctionEnv } from './function-env.js';
import { type InvocationRecord, LocalLambdaRuntime } from './lambda-runtime.js';
import { readPorts, writePorts } from './ports.js';
import { announceRunningStack, readRunningStack } from './running-stack.js';
import { type CfnTemplate, type LocalApp, readLocalApp, synthTemplate } from './template.js';

/** Events a {@link LocalStack} emits. */
export interface LocalStackEvents {
  /** An email the handlers sent (it is in the outbox). */
  email: [OutboxEmail];
  /** An SNS alert the handlers published (it is in the alerts file). */
  alert: [LocalAlert];
  /** A Lambda invocation finished (Step Functions task or API request). */
  invoke: [InvocationRecord];
  /** An HTTP request to the REST API was answered. */
  request: [RequestLogEntry];
}

/** Options of {@link startLocalStack}. */
export interface LocalStackOptions {
  /** Where tables, executions, outbox, alerts and the HMAC key live. */
  dataDir: string;
  /** REST API port; 0 picks a free one. @default the port this data dir used last, else 0 */
  port?: number;
  /** @default 'anthropic' if ANTHROPIC_API_KEY is set, else 'scripted' */
  model?: 'scripted' | 'anthropic';
  /** The scripted model's scenario (set it later with `scriptedModel.use`). */
  scenario?: Scenario;
  /** Clock of the Step Functions interpreter (Wait, Retry, timeouts). @default the system clock */
  clock?: Clock;
  /** A template to run instead of synthesising `infra/build-app.ts`. */
  template?: CfnTemplate;
  /** Log level of the handlers (e.g. 'INFO'). @default quiet */
  handlerLogLevel?: string;
  /** Environment to read ANTHROPIC_API_KEY from. @default process.env */
  env?: Record<string, string | undefined>;
  /** A host name the API answers besides loopback (see `startApiGateway`). @default none */
  allowedHostName?: string;
  /**
   * What the journals and tables survive (`local/durability.ts`): `process`
   * (a kill -9) or `machine` (a power cut too, at a sync's wait per step).
   * @default `CHAPERONE_DURABILITY` from `env`, else 'process'
   */
  durability?: Durability;
}

/** A running local stack. */
export interface LocalStack {
  /** The REST API, e.g. `http://127.0.0.1:3000` (the `/v1` stage prefix is optional). */
  apiUrl: string;
  /** The Step Functions API (AWS JSON 1.0). */
  sfnUrl: string;
  /** DynamoDB (dynalite). */
  dynamoUrl: string;
  /** SESv2, SNS and Secrets Manager stand-in. */
  servicesUrl: string;
  dataDir: string;
  /** Sent emails: one `.json` and one `.eml` each. */
  outboxDir: string;
  /** Published alerts, one JSON object per line. */
  alertsFile: string;
  /** The key pair the local AWS endpoints accept, kept in `credentialsFile` (mode 0600). */
  credentials: LocalCredentials;
  credentialsFile: string;
  model: 'scripted' | 'anthropic';
  /** The interpreter (executions, histories, task tokens). */
  sfn: LocalStepFunctions;
  /** The local Lambda service (invocation counts per function). */
  invoker: LocalLambdaRuntime;
  /** Present when `model` is 'scripted'. */
  scriptedModel?: ScriptedModel;
  /** What was read from the template (functions, state machines, tables, routes). */
  app: LocalApp;
  /** State machine ARN by workflow name. */
  stateMachines: Record<string, string>;
  events: EventEmitter<LocalStackEvents>;
  /** Stops everything; the data directory keeps the state for the next start. */
  close(): Promise<void>;
}

/** Boots the local stack in `options.dataDir`. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const env = options.env ?? process.env;
  // Refused by name before anything starts: a misspelt level must not quietly mean the default.
  const durability =
    options.durability === undefined
      ? durabilityFromEnv(env)
      : durabilityOption(options.durability, 'the local stack option durability');
  const dataDir = resolve(options.dataDir);
  const outboxDir = join(dataDir, 'outbox');
  const alertsFile = join(dataDir, 'alerts.jsonl');
  mkdirSync(outboxDir, { recursive: true, mode: 0o700 });
  // Tables hold task tokens and the outbox holds signed links: the data dir is the user's alone.
  chmodSync(dataDir, 0o700);
  chmodSync(outboxDir, 0o700);
  const apiKey = env.ANTHROPIC_API_KEY;
  const model = options.model ?? (apiKey ? 'anthropic' : 'scripted');
  if (model === 'anthropic' && !apiKey)
    throw new LocalRuntimeError("model 'anthropic' needs ANTHROPIC_API_KEY in the environment");

  // Lambda puts region and credentials in the process env; the handlers' SDK
  // clients find them there (see shareProcessEnv). The local endpoints accept
  // only this data dir's own key pair.
  process.env.AWS_REGION ??= LOCAL_REGION;
  const credentials = dataDirCredentials(dataDir);
  const other = readRunningStack(dataDir);
  if (other && other.pid !== process.pid)
    throw new LocalRuntimeError(
      `another local stack (process ${other.pid}, API ${other.apiUrl}) is using ${dataDir}; stop it first, or use another --data-dir`,
    );

  const events = new EventEmitter<LocalStackEvents>();
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  };
  try {
    const template = options.template ?? (await synthTemplate());
    // The API comes first: its URL goes into the handlers' env (approval links).
    let runtime: LocalLambdaRuntime | undefined;
    const deferred: LambdaInvoker = {
      invoke: (fn, payload, o) => {
        if (!runtime) throw new LocalRuntimeError('the local stack is still starting');
        return runtime.invoke(fn, payload, o);
      },
    };
    const [api] = readLocalApp(template).apis;
    if (!api) throw new LocalRuntimeError('the template has no REST API (AWS::ApiGateway::RestApi)');
    const saved = readPorts(dataDir).api;
    const port = options.port ?? saved ?? 0;
    const gateway: LocalApiGateway = await startApiGateway({
      api,
      invoker: deferred,
      port,
      ...(options.allowedHostName ? { allowedHostName: options.allowedHostName } : {}),
      onRequest: (entry) => events.emit('request', entry),
    }).catch((err: unknown) => {
      throw new LocalRuntimeError(
        portHint(err, port, options.port === undefined && saved !== undefined, dataDir),
        {
          cause: err,
        },
      );
    });
    closers.push(() => gateway.close());
    writePorts(dataDir, { api: gateway.port });
    const app = readLocalApp(template, { apiUrl: gateway.url });

    const dynamo: LocalDynamo = await startLocalDynamo({
      dataDir: join(dataDir, 'dynamodb'),
      credentials,
      durability,
    }).catch((err: unknown) => {
      throw new LocalRuntimeError(
        `cannot open the local DynamoDB in ${dataDir} (is another local stack using it?)`,
        { cause: err },
      );
    });
    closers.push(() => dynamo.close());
    await ensureTables(dynamo.client, app.tables);

    const modelKey = model === 'anthropic' && apiKey ? apiKey : 'scripted-model-key';
    const secrets = LocalSecrets.open(join(dataDir, 'secrets.json'), secretSpecs(app, modelKey));
    // Knowledge indexes (S3 Vectors) declared in the template, kept on disk in the data dir.
    const vectors = new LocalVectorStore(join(dataDir, 'vectors'), vectorIndexesOf(template));
    const services: LocalServices = await startLocalServices({
      outboxDir,
      alertsFile,
      secrets,
      credentials,
      // The payload bucket (and any other bucket of the template), as a folder of the data dir.
      s3: { dir: join(dataDir, 's3'), buckets: templateBuckets(template) },
      vectors,
    });
    closers.push(() => services.close());
    services.events.on('email', (e) => events.emit('email', e));
    services.events.on('alert', (a) => events.emit('alert', a));

    let scriptedModel: ScriptedModel | undefined;
    if (model === 'scripted') {
      // Bedrock agents reach it too (InvokeModel), signed with this data dir's key pair.
      const started = await ScriptedModel.start({ bedrockCredentials: credentials });
      scriptedModel = started;
      closers.push(() => started.close());
      if (options.scenario) started.use(options.scenario);
    }

    const sfn = new LocalStepFunctions({
      dataDir: join(dataDir, 'executions'),
      durability,
      invoker: deferred,
      ...(options.clock ? { clock: options.clock } : {}),
    });
    closers.push(() => sfn.close());
    const sfnServer: SfnApiServer = await startSfnApiServer(sfn, { credentials });
    closers.push(() => sfnServer.close());

    const lambdaApi = await startLambdaApi({ invoker: deferred, credentials });
    closers.push(() => lambdaApi.close());

    const endpoints: LocalEndpoints = {
      dynamoUrl: dynamo.url,
      sfnUrl: sfnServer.url,
      servicesUrl: services.url,
      lambdaUrl: lambdaApi.url,
      anthropicApiKey: modelKey,
      credentials,
      ...(scriptedModel ? { anthropicBaseUrl: scriptedModel.url } : {}),
      ...(options.handlerLogLevel ? { logLevel: options.handlerLogLevel } : {}),
    };
    const functions = app.functions.map((fn) => ({ ...fn, env: localFunctionEnv(fn, endpoints) }));
    // Each function in a worker thread of its own: its environment is its process.env, and
    // Lambda's entry point (the exported handler) is what runs.
    const lambdas = new LocalLambdaRuntime({
      functions,
      isolation: 'worker',
      onInvoke: (record) => events.emit('invoke', record),
    });
    runtime = lambdas;
    closers.push(() => lambdas.close());
    closers.push(shareProcessEnv(functions.map((fn) => fn.env)));
    const stateMachines: Record<string, string> = {};
    for (const machine of app.stateMachines) {
      sfn.registerStateMachine(machine.arn, machine.definition, { name: machine.logicalId });
      stateMachines[machine.workflow ?? machine.logicalId] = machine.arn;
    }
    await sfn.start();
    const forget = announceRunningStack(dataDir, {
      pid: process.pid,
      apiUrl: gateway.url,
      sfnUrl: sfnServer.url,
      dynamoUrl: dynamo.url,
      servicesUrl: services.url,
      startedAt: new Date().toISOString(),
    });
    closers.push(async () => forget());

    const stack: LocalStack = {
      apiUrl: gateway.url,
      sfnUrl: sfnServer.url,
      dynamoUrl: dynamo.url,
      servicesUrl: services.url,
      dataDir,
      outboxDir,
      alertsFile,
      credentials,
      credentialsFile: join(dataDir, CREDENTIALS_FILE),
      model,
      sfn,
      invoker: runtime,
      app,
      stateMachines,
      events,
      close: closeAll,
    };
    if (scriptedModel) stack.scriptedModel = scriptedModel;
    return stack;
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/**
 * In Lambda a function's environment is its process's: tool code reads
 * `process.env` (the invoice backend its table and DynamoDB endpoint). The
 * handlers share this process, so each variable that has one value in every
 * function that sets it is put in `process.env` too; the returned closer
 * restores what was there (unless a later stack changed it meanwhile).
 */
function shareProcessEnv(envs: Array<Record<string, string>>): () => Promise<void> {
  const values = new Map<string, string | null>();
  for (const env of envs) {
    for (const [k, v] of Object.entries(env)) values.set(k, values.has(k) && values.get(k) !== v ? null : v);
  }
  const restore: Array<() => void> = [];
  for (const [k, v] of values) {
    if (v === null || k === 'ANTHROPIC_API_KEY') continue;
    const before = process.env[k];
    process.env[k] = v;
    restore.push(() => {
      if (process.env[k] !== v) return;
      if (before === undefined) delete process.env[k];
      else process.env[k] = before;
    });
  }
  return async () => {
    for (const undo of restore) undo();
  };
}

/** What to tell the user when the API cannot listen on `port`. */
function portHint(err: unknown, port: number, wasSaved: boolean, dataDir: string): string {
  if ((err as NodeJS.ErrnoException | undefined)?.code !== 'EADDRINUSE')
    return `cannot listen for the API on 127.0.0.1:${port}: ${err instanceof Error ? err.message : String(err)}`;
  const choose = 'choose another with --port <n>, or --port 0 for any free one';
  return wasSaved
    ? `port ${port} is taken by another process. It is this data dir's API port (saved in ${join(dataDir, 'ports.json')}, where the links in emails already sent point); free it, or ${choose}: npm start and the CLI then resolve the earlier links against the new address`
    : `port ${port} is taken by another process; ${choose}`;
}

/** The template's secrets: the model key from the environment, the others generated once. */
function secretSpecs(app: LocalApp, modelKey: string): SecretSpec[] {
  const modelSecrets = new Set(
    app.functions.map((f) => f.env.ANTHROPIC_SECRET_ARN).filter((v): v is string => v !== undefined),
  );
  return app.secrets.map((s) => {
    const spec: SecretSpec = { arn: s.arn, name: s.logicalId };
    if (modelSecrets.has(s.arn)) spec.value = modelKey;
    else if (s.secretString !== undefined) spec.value = s.secretString;
    else if (s.generate) spec.generate = s.generate;
    return spec;
  });
}

/** The names of the template's S3 buckets, as `Ref` resolves them locally (the logical id unless `BucketName` is set). */
function templateBuckets(template: CfnTemplate): string[] {
  return Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::S3::Bucket')
    .map(([id, r]) => (typeof r.Properties?.BucketName === 'string' ? r.Properties.BucketName : id));
}
