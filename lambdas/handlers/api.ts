import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { Workflow } from '../../state-machines/workflow.js';
import {
  alerts,
  approvalStore,
  ConfigError,
  coreDeps,
  type Env,
  engine,
  mailer,
  newId,
  required,
  secrets,
} from '../config.js';
import { type ApiDeps, routeApi } from '../core/api-router.js';
import { memoryDeps } from '../memory-config.js';

/** `POST /runs`, `GET /runs/{id}`, `DELETE|PUT /runs/{id}/memory`, `GET /approvals`, `GET|POST /approvals/{id}`. */
/** `app`: the workflows to serve (the application's workflows module, bound by its generated entry). */
export function createHandler(env: Env, app: readonly Workflow[]) {
  const base = coreDeps(env, 'api', app);
  let stateMachines: Record<string, string>;
  try {
    stateMachines = JSON.parse(required(env, 'STATE_MACHINES')) as Record<string, string>;
  } catch (err) {
    throw new ConfigError(
      `STATE_MACHINES must be a JSON object of workflow → ARN: ${(err as Error).message}`,
    );
  }
  const secret = secrets(env)(required(env, 'APPROVAL_SECRET_ARN'));
  const memory = memoryDeps(env, base.db);
  const deps = async (): Promise<ApiDeps> => ({
    ...base,
    engine: engine(env),
    alerts: alerts(env),
    stateMachines,
    newId,
    approvals: approvalStore(env, base.db),
    mailer: mailer(env),
    linkSecret: await secret,
    baseUrl: env.APPROVAL_BASE_URL ?? '',
    memory,
  });
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
      await deps(),
    );
  };
}
