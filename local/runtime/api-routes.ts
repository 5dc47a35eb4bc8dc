/**
 * Reads the routes of the template's REST APIs: the resource tree
 * (`AWS::ApiGateway::Resource` PathPart/ParentId), its methods and their
 * integrations (Lambda proxy, or CORS mocks), and the stage name.
 */
import { TemplateResolutionError } from './errors.js';
import type { CfnTemplate, IntrinsicResolver } from './intrinsics.js';

/** One method of a REST API. */
export interface LocalRoute {
  /** The resource path with placeholders, e.g. `/runs/{id}` or `/{proxy+}`. */
  resourcePath: string;
  /** Upper case, or `ANY`. */
  httpMethod: string;
  integration:
    | { kind: 'lambda-proxy'; functionArn: string }
    | { kind: 'mock'; statusCode: number; headers: Record<string, string> };
  /**
   * The content types the method declares request models for (`RequestModels`,
   * lower case), e.g. `['application/json']`; absent when it declares none.
   */
  contentTypes?: string[];
}

/** A REST API of the template. */
export interface LocalRestApi {
  logicalId: string;
  /** `Metadata["chaperone:api"]`, when set. */
  name?: string;
  /** The first stage's name. @default 'prod' */
  stageName: string;
  routes: LocalRoute[];
}

const INVOCATION_URI = /:lambda:path\/2015-03-31\/functions\/(arn:[^/]+)\/invocations$/;

/** Collects every REST API of the template with its routes. */
export function readApiRoutes(template: CfnTemplate, r: IntrinsicResolver): LocalRestApi[] {
  const resources = template.Resources;
  const apis = new Map<string, LocalRestApi>();
  for (const [id, res] of Object.entries(resources)) {
    if (res.Type !== 'AWS::ApiGateway::RestApi') continue;
    const api: LocalRestApi = { logicalId: id, stageName: 'prod', routes: [] };
    const name = res.Metadata?.['chaperone:api'];
    if (typeof name === 'string') api.name = name;
    apis.set(id, api);
  }
  if (apis.size === 0) return [];

  // Resource id → path, walking ParentId up to the RestApi's RootResourceId (`<api>/`).
  const paths = new Map<string, string>();
  const pathOf = (resourceId: string, seen: Set<string> = new Set()): string => {
    const known = paths.get(resourceId);
    if (known !== undefined) return known;
    if (resourceId.endsWith('/') && apis.has(resourceId.slice(0, -1))) return '/';
    const res = resources[resourceId];
    if (res?.Type !== 'AWS::ApiGateway::Resource' || seen.has(resourceId)) {
      throw new TemplateResolutionError(
        resourceId,
        'Properties.ParentId',
        'not an API Gateway resource of this template',
      );
    }
    seen.add(resourceId);
    const props = res.Properties ?? {};
    const part = r.resolveString(props.PathPart, { resource: resourceId, property: 'Properties.PathPart' });
    const parent = pathOf(
      r.resolveString(props.ParentId, { resource: resourceId, property: 'Properties.ParentId' }),
      seen,
    );
    const path = `${parent === '/' ? '' : parent}/${part}`;
    paths.set(resourceId, path);
    return path;
  };

  for (const [id, res] of Object.entries(resources)) {
    const props = res.Properties ?? {};
    const at = (property: string) => ({ resource: id, property });
    if (res.Type === 'AWS::ApiGateway::Stage') {
      const api = apis.get(r.resolveString(props.RestApiId, at('Properties.RestApiId')));
      if (api && typeof props.StageName === 'string') api.stageName = props.StageName;
      continue;
    }
    if (res.Type !== 'AWS::ApiGateway::Method') continue;
    const api = apis.get(r.resolveString(props.RestApiId, at('Properties.RestApiId')));
    if (!api) continue;
    const resourcePath = pathOf(r.resolveString(props.ResourceId, at('Properties.ResourceId')));
    const httpMethod = r.resolveString(props.HttpMethod, at('Properties.HttpMethod')).toUpperCase();
    const route: LocalRoute = {
      resourcePath,
      httpMethod,
      integration: readIntegration(id, props.Integration, r),
    };
    const models = props.RequestModels;
    if (typeof models === 'object' && models !== null && Object.keys(models).length > 0)
      route.contentTypes = Object.keys(models).map((t) => t.toLowerCase());
    api.routes.push(route);
  }
  return [...apis.values()];
}

function readIntegration(id: string, raw: unknown, r: IntrinsicResolver): LocalRoute['integration'] {
  const integration = r.resolve(raw ?? {}, { resource: id, property: 'Properties.Integration' });
  const get = (key: string): unknown =>
    typeof integration === 'object' && integration !== null
      ? (integration as Record<string, unknown>)[key]
      : undefined;
  const type = get('Type');
  if (type === 'AWS_PROXY') {
    const uri = get('Uri');
    const m = typeof uri === 'string' ? INVOCATION_URI.exec(uri) : null;
    if (!m?.[1])
      throw new TemplateResolutionError(
        id,
        'Properties.Integration.Uri',
        `not a Lambda invocation URI: ${String(uri)}`,
      );
    return { kind: 'lambda-proxy', functionArn: m[1] };
  }
  if (type === 'MOCK') {
    const responses = get('IntegrationResponses');
    const first: unknown = Array.isArray(responses) ? responses[0] : undefined;
    const rec = typeof first === 'object' && first !== null ? (first as Record<string, unknown>) : {};
    const headers: Record<string, string> = {};
    const params = rec.ResponseParameters;
    if (typeof params === 'object' && params !== null) {
      for (const [k, v] of Object.entries(params)) {
        const name = /^method\.response\.header\.(.+)$/.exec(k)?.[1];
        if (name && typeof v === 'string') headers[name] = v.replace(/^'(.*)'$/, '$1');
      }
    }
    return { kind: 'mock', statusCode: Number(rec.StatusCode ?? 200), headers };
  }
  throw new TemplateResolutionError(
    id,
    'Properties.Integration.Type',
    `integration type ${String(type)} is not supported locally (AWS_PROXY and MOCK are)`,
  );
}
