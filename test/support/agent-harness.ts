import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoApprovalStore } from '../../lambdas/adapters/dynamo-approval-store.js';
import { DynamoBreakerStore } from '../../lambdas/adapters/dynamo-breaker-store.js';
import { createDocumentClient } from '../../lambdas/adapters/dynamo-client.js';
import { DynamoRunStore } from '../../lambdas/adapters/dynamo-run-store.js';
import { metered } from '../../lambdas/core/usage.js';
import { createHandler as agentStep } from '../../lambdas/handlers/agent-step.js';
import { createHandler as api } from '../../lambdas/handlers/api.js';
import { createHandler as approvalRequest } from '../../lambdas/handlers/approval-request.js';
import { createHandler as codeStep } from '../../lambdas/handlers/code-step.js';
import { createHandler as finish } from '../../lambdas/handlers/finish.js';
import { createHandler as toolStep } from '../../lambdas/handlers/tool-step.js';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../local/aws/dynamodb.js';
import { LOCAL_CREDENTIALS } from '../../local/aws/local-credentials.js';
import { LocalSecrets } from '../../local/aws/secrets.js';
import { type LocalServices, startLocalServices } from '../../local/aws/services.js';
import type { Durability } from '../../local/durability.js';
import {
  type LocalVectorIndexSpec,
  LocalVectorStore,
  localVectorBucketArn,
} from '../../local/memory/s3vectors-store.js';
import { ScriptedModel } from '../../local/scripted-model/index.js';
import { LocalStepFunctions, MapLambdaInvoker, startSfnApiServer } from '../../local/sfn/index.js';
import { compileWorkflow } from '../../state-machines/index.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { FaultProxy } from './fault-proxy.js';

/** The tables as infra defines them (pk/sk, the approvals status index). */
export const TABLES = [
  {
    tableName: 'Runs',
    keySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' as const },
      { AttributeName: 'sk', KeyType: 'RANGE' as const },
    ],
    attributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' as const },
      { AttributeName: 'sk', AttributeType: 'S' as const },
    ],
  },
  {
    tableName: 'Approvals',
    keySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' as const },
      { AttributeName: 'sk', KeyType: 'RANGE' as const },
    ],
    attributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' as const },
      { AttributeName: 'sk', AttributeType: 'S' as const },
      { AttributeName: 'status', AttributeType: 'S' as const },
      { AttributeName: 'createdAt', AttributeType: 'S' as const },
    ],
    globalSecondaryIndexes: [
      {
        IndexName: 'byStatus',
        KeySchema: [
          { AttributeName: 'status', KeyType: 'HASH' },
          { AttributeName: 'createdAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ],
  },
  {
    tableName: 'Breakers',
    keySchema: [{ AttributeName: 'pk', KeyType: 'HASH' as const }],
    attributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' as const }],
  },
  {
    // Episodic memory (infra/constructs/memory.ts).
    tableName: 'Memory',
    keySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' as const },
      { AttributeName: 'sk', KeyType: 'RANGE' as const },
    ],
    attributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' as const },
      { AttributeName: 'sk', AttributeType: 'S' as const },
    ],
  },
  {
    // The invoice example's backend (examples/invoice/backend.ts).
    tableName: 'InvoiceBackend',
    keySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' as const },
      { AttributeName: 'sk', KeyType: 'RANGE' as const },
    ],
    attributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' as const },
      { AttributeName: 'sk', AttributeType: 'S' as const },
    ],
  },
];

/** Options of {@link AgentHarness.start}. */
export interface HarnessOptions {
  /** Put a {@link FaultProxy} between the handlers and dynalite. @default false */
  faults?: boolean;
  /** The Step Functions interpreter's FULL-jitter draw for Retry delays. @default Math.random */
  retryJitter?: () => number;
  /**
   * Keep the Step Functions journals on disk (as `npm start` does) in the
   * harness's temporary folder instead of in memory. @default false
   */
  durableExecutions?: boolean;
  /** What the journals and the DynamoDB log survive (`local/durability.ts`). @default 'process' */
  durability?: Durability;
  /**
   * Wraps every invocation of the named functions (`agentStep`, `toolStep`, …):
   * a test injects a fault a real part cannot produce on demand, such as a
   * function that dies after its handler ran.
   */
  inject?: (fn: string, event: unknown, run: () => Promise<unknown>) => Promise<unknown>;
  /**
   * Memory on: the Memory table, the Titan stand-in, and S3 Vectors indexes
   * (bucket `kb`) on the services server, wired into the handlers' environment.
   */
  memory?: { vectorIndexes?: Omit<LocalVectorIndexSpec, 'bucket'>[] };
  /** Called before each Lambda invocation with the function's name (e.g. to make every container cold). */
  beforeInvoke?: (fn: string) => void;
}

/**
 * Run one invocation; if the fault proxy killed its process meanwhile, end it
 * as Lambda ends a function that died (`Lambda.Unknown`), whatever the
 * handler's own code made of the failed calls, and let the next one live.
 */
async function crashAware<T>(faults: FaultProxy | undefined, run: () => Promise<T>): Promise<T> {
  if (!faults) return run();
  const out = await faults.invocation(run);
  if (out.died) {
    const died = new Error('the function process died during the invocation (injected by the fault proxy)');
    died.name = 'Lambda.Unknown';
    throw died;
  }
  if ('error' in out) throw out.error;
  return out.value as T;
}

/** The payload bucket's name in the harness (its objects: `<dir>/s3/payloads/`). */
export const PAYLOAD_BUCKET = 'payloads';

const ARN = (name: string) => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

/**
 * The real parts wired together in one process: dynalite, the scripted model
 * behind the real Anthropic and Bedrock SDKs, the local SNS/SES/Secrets stand-ins, the
 * Step Functions interpreter running the compiled state machine, and the
 * handlers built exactly as Lambda builds them.
 */
export class AgentHarness {
  private constructor(
    readonly dir: string,
    readonly dynamo: LocalDynamo,
    readonly services: LocalServices,
    readonly model: ScriptedModel,
    readonly sfn: LocalStepFunctions,
    private readonly sfnServer: { url: string; close(): Promise<void> },
    readonly env: Record<string, string>,
    readonly workflows: readonly Workflow[],
    readonly invocations: Map<string, number>,
    /** The fault proxy in front of dynalite, when the harness was started with `faults`. */
    readonly faults?: FaultProxy,
  ) {}

  static async start(
    workflows: readonly Workflow[],
    extraEnv: Record<string, string> = {},
    options: HarnessOptions = {},
  ): Promise<AgentHarness> {
    const dir = mkdtempSync(join(tmpdir(), 'chaperone-test-'));
    const durability = options.durability !== undefined ? { durability: options.durability } : {};
    const dynamo = await startLocalDynamo({ dataDir: join(dir, 'dynamo'), ...durability });
    await ensureTables(dynamo.client, TABLES);
    const faults = options.faults ? await FaultProxy.start(dynamo.url) : undefined;
    const dynamoUrl = faults?.url ?? dynamo.url;
    const secrets = LocalSecrets.open(join(dir, 'secrets.json'), [
      {
        arn: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:approval-hmac-AbCdEf',
        name: 'approval-hmac',
        generate: { PasswordLength: 64, ExcludePunctuation: true },
      },
    ]);
    const services = await startLocalServices({
      outboxDir: join(dir, 'outbox'),
      alertsFile: join(dir, 'alerts.jsonl'),
      secrets,
      // The payload bucket, as the local stack serves it (local/aws/s3.ts).
      s3: { dir: join(dir, 's3'), buckets: [PAYLOAD_BUCKET] },
      ...(options.memory
        ? {
            vectors: new LocalVectorStore(
              join(dir, 'vectors'),
              (options.memory.vectorIndexes ?? []).map((i) => ({ ...i, bucket: 'kb' })),
            ),
          }
        : {}),
    });
    // Bedrock calls are signed with the key pair below (AWS_ACCESS_KEY_ID=local) and verified.
    const model = await ScriptedModel.start({ bedrockCredentials: LOCAL_CREDENTIALS });
    const invocations = new Map<string, number>();
    let handlers: Record<string, (event: unknown, context?: unknown) => Promise<unknown>> = {};
    const invoker = new MapLambdaInvoker(
      Object.fromEntries(
        ['agentStep', 'toolStep', 'codeStep', 'finish', 'approvalRequest'].map((n) => [
          n,
          async (event: unknown) => {
            invocations.set(n, (invocations.get(n) ?? 0) + 1);
            options.beforeInvoke?.(n);
            const h = handlers[n];
            if (!h) throw new Error(`no handler ${n}`);
            // A Lambda-shaped context: the usage meter reads the memory size from it.
            const context = { functionName: n, memoryLimitInMB: '1024' };
            const inject = options.inject;
            return crashAware(faults, () =>
              inject ? inject(n, event, () => h(event, context)) : h(event, context),
            );
          },
        ]),
      ),
    );
    const sfn = new LocalStepFunctions({
      invoker,
      ...(options.durableExecutions ? { dataDir: join(dir, 'executions'), ...durability } : {}),
      ...(options.retryJitter ? { retryJitter: options.retryJitter } : {}),
    });
    await sfn.start();
    const sfnServer = await startSfnApiServer(sfn);
    const stateMachines: Record<string, string> = {};
    for (const w of workflows) {
      const arn = `arn:aws:states:us-east-1:000000000000:stateMachine:${w.name}`;
      sfn.registerStateMachine(
        arn,
        compileWorkflow(w, {
          agentStep: ARN('agentStep'),
          toolStep: ARN('toolStep'),
          codeStep: ARN('codeStep'),
          finish: ARN('finish'),
          approvalRequest: ARN('approvalRequest'),
        }),
        { name: w.name },
      );
      stateMachines[w.name] = arn;
    }
    const env: Record<string, string> = {
      AWS_REGION: 'us-east-1',
      // The stack's functions run on arm64: priced so, whatever this machine is.
      CHAPERONE_LAMBDA_ARCHITECTURE: 'arm64',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: dynamoUrl,
      AWS_ENDPOINT_URL_SFN: sfnServer.url,
      AWS_ENDPOINT_URL_SNS: services.url,
      AWS_ENDPOINT_URL_SESV2: services.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: services.url,
      AWS_ENDPOINT_URL_S3: services.url,
      PAYLOAD_BUCKET,
      RUNS_TABLE: 'Runs',
      APPROVALS_TABLE: 'Approvals',
      BREAKERS_TABLE: 'Breakers',
      INVOICE_BACKEND_TABLE: 'InvoiceBackend',
      STATE_MACHINES: JSON.stringify(stateMachines),
      ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:alerts',
      APPROVAL_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:approval-hmac-AbCdEf',
      APPROVAL_BASE_URL: 'http://127.0.0.1:9/',
      SES_FROM_ADDRESS: 'approvals@example.com',
      ANTHROPIC_API_KEY: 'scripted-model-key',
      ANTHROPIC_BASE_URL: model.url,
      AWS_ENDPOINT_URL_BEDROCK_RUNTIME: model.url,
      CHAPERONE_MODEL_MAX_RETRIES: '0',
      CHAPERONE_LOCAL: '1',
      ...(options.memory
        ? {
            MEMORY_TABLE: 'Memory',
            CHAPERONE_EMBEDDINGS_ENDPOINT: services.url,
            AWS_ENDPOINT_URL_S3VECTORS: services.url,
            ...(options.memory.vectorIndexes?.length
              ? { CHAPERONE_VECTOR_BUCKET_ARN: localVectorBucketArn('kb', 'us-east-1', '000000000000') }
              : {}),
          }
        : {}),
      ...extraEnv,
    };
    // The SDK clients read credentials from the process environment.
    process.env.AWS_ACCESS_KEY_ID = 'local';
    process.env.AWS_SECRET_ACCESS_KEY = 'local';
    process.env.AWS_REGION = 'us-east-1';
    // Tool code reads its configuration from the process, as in Lambda (the example backend's table).
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamoUrl;
    process.env.INVOICE_BACKEND_TABLE = 'InvoiceBackend';
    process.env.INVOICE_BACKEND_SEED_ON_USE = '1';
    // Metered as the generated entries meter them (infra/constructs/handler-entries.ts).
    handlers = {
      agentStep: metered(agentStep(env, workflows), env),
      toolStep: metered(toolStep(env, workflows), env),
      codeStep: metered(codeStep(env, workflows), env),
      finish: metered(finish(env, workflows), env),
      approvalRequest: metered(approvalRequest(env, workflows), env),
    };
    return new AgentHarness(
      dir,
      dynamo,
      services,
      model,
      sfn,
      sfnServer,
      env,
      workflows,
      invocations,
      faults,
    );
  }

  private apiHandler:
    | ((
        event: Parameters<ReturnType<typeof api>>[0],
        context?: unknown,
      ) => ReturnType<ReturnType<typeof api>>)
    | undefined;

  /** The API handler, as API Gateway would call it: built once, as one warm container serves every request. */
  api() {
    this.apiHandler ??= metered(api(this.env, this.workflows), this.env);
    const handler = this.apiHandler;
    const faults = this.faults;
    return (event: Parameters<ReturnType<typeof api>>[0]) =>
      crashAware(faults, () => handler(event, { functionName: 'api', memoryLimitInMB: '512' }));
  }

  get db() {
    return createDocumentClient({ region: 'us-east-1', endpoint: this.dynamo.url });
  }
  get runs() {
    return new DynamoRunStore(this.db, 'Runs');
  }
  get approvals() {
    return new DynamoApprovalStore(this.db, 'Approvals');
  }
  get breakers() {
    return new DynamoBreakerStore(this.db, 'Breakers');
  }

  /** POST /runs through the API handler, then wait for the execution to end. */
  async run(
    workflow: string,
    input: unknown,
  ): Promise<{ runId: string; execution: { status?: string; error?: string; cause?: string } }> {
    const res = await this.api()(proxyEvent('POST', '/runs', {}, JSON.stringify({ workflow, input })));
    if (res.statusCode !== 201) throw new Error(`POST /runs answered ${res.statusCode}: ${res.body}`);
    const { runId } = JSON.parse(res.body) as { runId: string };
    const execution = await this.sfn.waitForExecution(
      `arn:aws:states:us-east-1:000000000000:execution:${workflow}:${runId}`,
    );
    return { runId, execution };
  }

  async close(): Promise<void> {
    await this.sfn.close();
    await this.sfnServer.close();
    await this.faults?.close();
    await this.model.close();
    await this.services.close();
    await this.dynamo.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** An API Gateway REST proxy event. */
export function proxyEvent(
  method: string,
  resource: string,
  pathParameters: Record<string, string>,
  body: string | null,
  query: Record<string, string> = {},
  headers: Record<string, string> = { 'content-type': 'application/json' },
) {
  let path = resource;
  for (const [k, v] of Object.entries(pathParameters)) path = path.replace(`{${k}}`, v);
  return {
    httpMethod: method,
    resource,
    path,
    pathParameters,
    queryStringParameters: Object.keys(query).length ? query : null,
    multiValueQueryStringParameters: null,
    headers,
    multiValueHeaders: {},
    body,
    isBase64Encoded: false,
    stageVariables: null,
    requestContext: {} as never,
  };
}
