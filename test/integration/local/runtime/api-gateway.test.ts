import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalApiGateway, startApiGateway } from '../../../../local/runtime/api-gateway.js';
import { LocalLambdaRuntime } from '../../../../local/runtime/lambda-runtime.js';
import { readLocalApp } from '../../../../local/runtime/template.js';
import { sampleTemplate } from './sample-template.js';

describe('local API Gateway', () => {
  let gateway: LocalApiGateway;

  beforeEach(async () => {
    const app = readLocalApp(sampleTemplate());
    const [api] = app.apis;
    if (!api) throw new Error('sample template has no API');
    gateway = await startApiGateway({ api, invoker: new LocalLambdaRuntime({ functions: app.functions }) });
  });
  afterEach(async () => {
    await gateway.close();
  });

  it('sends a REST proxy event (v1) with the resource, path parameters and query', async () => {
    const res = await fetch(`${gateway.url}/runs/01ABC?verbose=1&tag=a&tag=b`, {
      headers: { 'X-Trace': 't1' },
    });
    const event = (await res.json()) as Record<string, unknown>;

    expect(res.status).toBe(200);
    expect(res.headers.get('x-runs-table')).toBe('RunsTable');
    expect(res.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(event).toMatchObject({
      resource: '/runs/{id}',
      path: '/runs/01ABC',
      httpMethod: 'GET',
      pathParameters: { id: '01ABC' },
      queryStringParameters: { verbose: '1', tag: 'b' },
      multiValueQueryStringParameters: { verbose: ['1'], tag: ['a', 'b'] },
      headers: { 'X-Trace': 't1' },
      multiValueHeaders: { 'X-Trace': ['t1'] },
      stageVariables: null,
      body: null,
      isBase64Encoded: false,
      requestContext: {
        resourcePath: '/runs/{id}',
        httpMethod: 'GET',
        stage: 'prod',
        path: '/prod/runs/01ABC',
        identity: { sourceIp: '127.0.0.1' },
      },
    });
  });

  it('passes the body of a POST and accepts the stage prefix', async () => {
    const res = await fetch(`${gateway.url}/prod/runs`, {
      method: 'POST',
      body: JSON.stringify({ workflow: 'w' }),
      headers: { 'content-type': 'application/json' },
    });
    const event = (await res.json()) as { body: string; resource: string; pathParameters: unknown };

    expect(res.status).toBe(202);
    expect(event.resource).toBe('/runs');
    expect(event.pathParameters).toBeNull();
    expect(JSON.parse(event.body)).toEqual({ workflow: 'w' });
  });

  it('answers unknown routes and methods as API Gateway does: 403 Missing Authentication Token', async () => {
    const unknownPath = await fetch(`${gateway.url}/nope`);
    const unknownMethod = await fetch(`${gateway.url}/runs/01ABC`, { method: 'DELETE' });

    expect(unknownPath.status).toBe(403);
    expect(await unknownPath.json()).toEqual({ message: 'Missing Authentication Token' });
    expect(unknownMethod.status).toBe(403);
  });

  it('answers 502 Internal server error when the function fails', async () => {
    const res = await fetch(`${gateway.url}/runs/01ABC?fail=1`);

    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ message: 'Internal server error' });
  });

  it('serves MOCK integrations (CORS preflight)', async () => {
    const res = await fetch(`${gateway.url}/runs`, { method: 'OPTIONS' });

    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });
});
