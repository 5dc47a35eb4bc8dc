import { ulid } from 'ulid';
import type { Workflow } from '../state-machines/workflow.js';
import { createAnthropicModel } from './adapters/anthropic-model.js';
import { createSecretReader, createSesMailer, createSnsAlerts } from './adapters/aws-messaging.js';
import { createBedrockModel } from './adapters/bedrock-model.js';
import { DynamoApprovalStore } from './adapters/dynamo-approval-store.js';
import { DynamoBreakerStore } from './adapters/dynamo-breaker-store.js';
import { createDocumentClient } from './adapters/dynamo-client.js';
import { DynamoRunStore } from './adapters/dynamo-run-store.js';
import { createLambdaToolExecutor } from './adapters/lambda-tools.js';
import { createLog, createMetrics } from './adapters/observability.js';
import { createS3PayloadStore } from './adapters/s3-payloads.js';
import { createSfnEngine } from './adapters/sfn-engine.js';
import { ConfigError } from './config-error.js';
import type { AlertPublisher } from './core/deps.js';
import { type CoreDeps, noMetrics, registryOf, silentLog, systemClock } from './core/deps.js';
import type { ModelClient } from './core/model.js';
import { routeModels } from './core/model-router.js';

/** A handler's environment, read once at cold start. */
export type Env = Record<string, string | undefined>;

export { ConfigError } from './config-error.js';

export function required(env: Env, name: string): string {
  const v = env[name];
  if (!v) throw new ConfigError(`environment variable ${name} is required`);
  return v;
}

/** The parts every handler shares, built from its environment. */
export function coreDeps(
  env: Env,
  service: string,
  app: readonly Workflow[],
): CoreDeps & { db: ReturnType<typeof createDocumentClient> } {
  const region = env.AWS_REGION;
  const db = createDocumentClient({
    ...(region ? { region } : {}),
    ...(env.AWS_ENDPOINT_URL_DYNAMODB ? { endpoint: env.AWS_ENDPOINT_URL_DYNAMODB } : {}),
    // The SDK's own variable: how many attempts it makes before our named errors take over.
    ...(env.AWS_MAX_ATTEMPTS ? { maxAttempts: Number(env.AWS_MAX_ATTEMPTS) } : {}),
  });
  const quiet = env.CHAPERONE_LOCAL === '1' && !env.CHAPERONE_LOG_LEVEL;
  return {
    db,
    store: new DynamoRunStore(db, required(env, 'RUNS_TABLE')),
    workflows: registryOf(app),
    clock: systemClock,
    log: quiet ? silentLog : createLog(service, env),
    metrics: quiet ? noMetrics : createMetrics(service, env),
    // The payload bucket (offloaded results and outputs), when the stack has one.
    ...(env.PAYLOAD_BUCKET
      ? {
          payloads: createS3PayloadStore({
            bucket: env.PAYLOAD_BUCKET,
            region: required(env, 'AWS_REGION'),
            ...(env.AWS_ENDPOINT_URL_S3 ? { endpoint: env.AWS_ENDPOINT_URL_S3 } : {}),
          }),
        }
      : {}),
    ...(env.CHAPERONE_OFFLOAD_THRESHOLD_BYTES
      ? { offloadThresholdBytes: Number(env.CHAPERONE_OFFLOAD_THRESHOLD_BYTES) }
      : {}),
  };
}

export function approvalStore(env: Env, db: ReturnType<typeof createDocumentClient>): DynamoApprovalStore {
  return new DynamoApprovalStore(db, required(env, 'APPROVALS_TABLE'));
}

export function breakerStore(env: Env, db: ReturnType<typeof createDocumentClient>): DynamoBreakerStore {
  return new DynamoBreakerStore(db, required(env, 'BREAKERS_TABLE'));
}

const opts = (env: Env, endpointVar: string) => ({
  ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
  ...(env[endpointVar] ? { endpoint: env[endpointVar] } : {}),
});

export function alerts(env: Env): AlertPublisher {
  return createSnsAlerts({
    topicArn: required(env, 'ALERT_TOPIC_ARN'),
    ...opts(env, 'AWS_ENDPOINT_URL_SNS'),
  });
}

export function engine(env: Env) {
  return createSfnEngine(opts(env, 'AWS_ENDPOINT_URL_SFN'));
}

export function mailer(env: Env) {
  return createSesMailer({ from: required(env, 'SES_FROM_ADDRESS'), ...opts(env, 'AWS_ENDPOINT_URL_SESV2') });
}

export function secrets(env: Env) {
  return createSecretReader(opts(env, 'AWS_ENDPOINT_URL_SECRETS_MANAGER'));
}

/**
 * The model client: one per provider, each built on first use and kept for the
 * container's life (`routeModels`). Anthropic: the API key comes from
 * `ANTHROPIC_API_KEY` (local) or the Secrets Manager secret
 * `ANTHROPIC_SECRET_ARN` (AWS), read only when an Anthropic agent first calls.
 * Bedrock: signed with the function's role, in the agent's `provider.region` or
 * `AWS_REGION`, at `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` when set (the scripted
 * model locally). SDK retries and timeout are set explicitly and stay below the
 * Lambda timeout.
 */
export function modelClient(env: Env, readSecret: (id: string) => Promise<string>): ModelClient {
  const maxRetries = Number(env.CHAPERONE_MODEL_MAX_RETRIES ?? 2);
  const timeout = Number(env.CHAPERONE_MODEL_TIMEOUT_MS ?? 60_000);
  return routeModels({
    anthropic: async () =>
      createAnthropicModel({
        apiKey: env.ANTHROPIC_API_KEY ?? (await readSecret(required(env, 'ANTHROPIC_SECRET_ARN'))),
        ...(env.ANTHROPIC_BASE_URL ? { baseURL: env.ANTHROPIC_BASE_URL } : {}),
        maxRetries,
        timeout,
      }),
    bedrock: (region) =>
      createBedrockModel({
        region: region ?? required(env, 'AWS_REGION'),
        ...(env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME ? { baseURL: env.AWS_ENDPOINT_URL_BEDROCK_RUNTIME } : {}),
        maxRetries,
        timeout,
      }),
  });
}

export const newId = (): string => ulid();

/**
 * How the tool step runs a tool attempt: in the tool's own function when
 * `TOOL_FUNCTIONS` (tool name → function ARN, set by the construct) is
 * present, else in this process (tests that run the handlers in-process).
 */
export function toolExecutor(env: Env) {
  if (!env.TOOL_FUNCTIONS) return undefined;
  let functions: Record<string, string>;
  try {
    functions = JSON.parse(env.TOOL_FUNCTIONS) as Record<string, string>;
  } catch (err) {
    throw new ConfigError(
      `TOOL_FUNCTIONS must be a JSON object of tool → function ARN: ${(err as Error).message}`,
    );
  }
  return createLambdaToolExecutor({ functions, ...opts(env, 'AWS_ENDPOINT_URL_LAMBDA') });
}
