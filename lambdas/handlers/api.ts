import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { Workflow } from '../../state-machines/workflow.js';
import { createConsoleAssets } from '../adapters/console-assets.js';
import { DynamoRunList } from '../adapters/dynamo-run-list.js';
import { type Env, jsonObjectEnv, newId, required } from '../config.js';
import { type ApiDeps, routeApi } from '../core/api-router.js';
import { memoryDeps } from '../memory-config.js';
import { snsAlerts } from './wire/alerts.js';
import { sfnEngine } from './wire/engine.js';
import { sesMailer } from './wire/mail.js';
import { secretReader } from './wire/secrets.js';
import { approvalStore, coreDeps } from './wire/store.js';

/** `POST /runs`, `GET /runs`, `GET /runs/{id}`, `GET /approvals`, `GET|POST /approvals/{id}`, the console (`GET /console…`). */
/** `app`: the workflows to serve (the application's workflows module, bound by its generated entry). */
export function createHandler(env: Env, app: readonly Workflow[]) {
  // Built once per container: every invocation shares these clients.
  const base = coreDeps(env, 'api', app);
  const stateMachines = jsonObjectEnv(env, 'STATE_MACHINES', 'workflow → ARN');
  const secretArn = required(env, 'APPROVAL_SECRET_ARN');
  // The link key: read on the first request and kept (a failed read is tried again on the next).
  const readSecret = secretReader(env);
  const shared: Omit<ApiDeps, 'linkSecret'> = {
    ...base,
    engine: sfnEngine(env),
    alerts: snsAlerts(env),
    stateMachines,
    newId,
    approvals: approvalStore(env, base.db),
    mailer: sesMailer(env),
    baseUrl: env.APPROVAL_BASE_URL ?? '',
    runList: new DynamoRunList(base.db, required(env, 'RUNS_TABLE')),
    consoleAssets: createConsoleAssets(),
    memory: memoryDeps(env, base.db),
  };
  return async (event: APIGatewayProxyEvent) => {
    const headers = Object.fromEntries(
      Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
    );
    const body =
      event.body && event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
    return routeApi(
      {
        method: event.httpMethod,
        resource: event.resource,
        pathParameters: event.pathParameters ?? {},
        query: event.queryStringParameters ?? {},
        headers,
        body,
      },
      { ...shared, linkSecret: await readSecret(secretArn) },
    );
  };
}
