import type { Workflow } from '../../../state-machines/workflow.js';
import { DynamoApprovalStore } from '../../adapters/dynamo-approval-store.js';
import { DynamoBreakerStore } from '../../adapters/dynamo-breaker-store.js';
import { createDocumentClient } from '../../adapters/dynamo-client.js';
import { DynamoRunStore } from '../../adapters/dynamo-run-store.js';
import { createLog, createMetrics } from '../../adapters/observability.js';
import { createS3PayloadStore } from '../../adapters/s3-payloads.js';
import { type Env, required } from '../../config.js';
import { type CoreDeps, noMetrics, registryOf, silentLog, systemClock } from '../../core/deps.js';

type DocumentClient = ReturnType<typeof createDocumentClient>;

/**
 * The parts every handler with a table shares, built once per container from
 * its environment: one DynamoDB client (`db`, for the other stores too), the
 * run store, the workflows, the clock, the log and the metrics.
 */
export function coreDeps(
  env: Env,
  service: string,
  app: readonly Workflow[],
): CoreDeps & { db: DocumentClient } {
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

export function approvalStore(env: Env, db: DocumentClient): DynamoApprovalStore {
  return new DynamoApprovalStore(db, required(env, 'APPROVALS_TABLE'));
}

export function breakerStore(env: Env, db: DocumentClient): DynamoBreakerStore {
  return new DynamoBreakerStore(db, required(env, 'BREAKERS_TABLE'));
}
