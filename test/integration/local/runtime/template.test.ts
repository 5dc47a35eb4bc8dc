import { describe, expect, it } from 'vitest';
import { TemplateResolutionError } from '../../../../local/runtime/errors.js';
import { readLocalApp, synthTemplate } from '../../../../local/runtime/template.js';
import { sampleTemplate } from './sample-template.js';

const API_URL = 'http://127.0.0.1:4321';
const fnArn = (id: string) => `arn:aws:lambda:us-east-1:000000000000:function:${id}`;

describe('template resolver', () => {
  it('resolves Ref, GetAtt, Join, Sub, Select, Split and the execute-api URL into local values', () => {
    const app = readLocalApp(sampleTemplate(), { apiUrl: API_URL });

    const step = app.functions.find((f) => f.logicalId === 'StepFunction');
    const api = app.functions.find((f) => f.logicalId === 'ApiFunction');
    expect(app.functions.map((f) => f.logicalId).sort()).toEqual(['ApiFunction', 'StepFunction']);
    expect(step).toMatchObject({
      arn: fnArn('StepFunction'),
      handlerPath: 'test/integration/local/runtime/fixtures/echo-handler.ts',
      timeoutSeconds: 30,
      memoryMb: 512,
      env: {
        RUNS_TABLE: 'RunsTable',
        ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:AlertTopic',
        APPROVAL_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:ApprovalSecret-000000',
        GREETING: 'hello from us-east-1 via arn:aws:dynamodb:us-east-1:000000000000:table/RunsTable',
        FIRST_AZ: 'us-east-1a',
        LAST_PART: 'RunsTable',
      },
    });
    expect(api?.env).toEqual({
      RUNS_TABLE: 'RunsTable',
      STATE_MACHINES:
        '{"invoice-reconciliation":"arn:aws:states:us-east-1:000000000000:stateMachine:Workflow"}',
      APPROVAL_BASE_URL: `${API_URL}/`,
    });
    expect(api?.timeoutSeconds).toBe(10);
    expect(api?.memoryMb).toBe(128);
  });

  it('puts local Lambda ARNs into state machine definitions', () => {
    const [machine] = readLocalApp(sampleTemplate()).stateMachines;

    expect(machine?.arn).toBe('arn:aws:states:us-east-1:000000000000:stateMachine:Workflow');
    expect(machine?.workflow).toBe('invoice-reconciliation');
    expect(machine?.definition).toMatchObject({
      States: { Step: { Arguments: { FunctionName: fnArn('StepFunction') } } },
    });
  });

  it('reads the API resource tree with stage, methods and integrations', () => {
    const [api] = readLocalApp(sampleTemplate()).apis;

    expect(api?.stageName).toBe('prod');
    expect(api?.routes.map((r) => `${r.httpMethod} ${r.resourcePath}`).sort()).toEqual([
      'GET /approvals/{id}',
      'GET /runs/{id}',
      'OPTIONS /runs',
      'POST /approvals/{id}',
      'POST /runs',
    ]);
    expect(
      api?.routes.find((r) => r.httpMethod === 'POST' && r.resourcePath === '/runs')?.integration,
    ).toEqual({
      kind: 'lambda-proxy',
      functionArn: fnArn('ApiFunction'),
    });
  });

  it('names the resource and property it cannot resolve', () => {
    const template = sampleTemplate();
    const fn = template.Resources.StepFunction;
    if (fn?.Properties)
      fn.Properties.Environment = { Variables: { BROKEN: { 'Fn::GetAtt': ['Missing', 'Arn'] } } };

    const read = () => readLocalApp(template);

    expect(read).toThrow(TemplateResolutionError);
    expect(read).toThrow(
      /StepFunction\.Properties\.Environment\.Variables\.BROKEN.*unknown resource Missing/,
    );
  });

  it('reads the synthesised Chaperone template: handlers, env, workflows, tables and routes', async () => {
    const template = await synthTemplate();

    const app = readLocalApp(template, { apiUrl: API_URL });

    // Each function runs the entry its construct generated, bound to the app's workflows module.
    const handlers = app.functions
      .map((f) => f.handlerPath.replace(/^.*\/node_modules\/\.cache\/chaperone\/[0-9a-f]+\//, ''))
      .sort();
    expect(handlers).toEqual([
      'agent-step.mts',
      'api.mts',
      'approval-request.mts',
      'code-step.mts',
      'finish.mts',
      // One function per tool of the invoice agent: lookup_invoice, find_vendor, find_vendor_cached, schedule_payment.
      'tool-runner.mts',
      'tool-runner.mts',
      'tool-runner.mts',
      'tool-runner.mts',
      'tool-step.mts',
    ]);
    for (const fn of app.functions) {
      for (const value of Object.values(fn.env)) expect(value).not.toMatch(/\{"(Ref|Fn::)/);
    }
    const withBaseUrl = app.functions.find((f) => f.env.APPROVAL_BASE_URL !== undefined);
    expect(withBaseUrl?.env.APPROVAL_BASE_URL).toBe(`${API_URL}/`);
    const machine = app.stateMachines.find((m) => m.workflow === 'invoice-reconciliation');
    const text = JSON.stringify(machine?.definition);
    const arns = [...text.matchAll(/arn:aws:lambda:[^"]+/g)].map((m) => m[0]);
    expect(arns.length).toBeGreaterThan(0);
    for (const arn of arns) expect(app.functions.map((f) => f.arn)).toContain(arn);
    expect(app.tables.length).toBeGreaterThanOrEqual(2);
    const routes = app.apis.flatMap((a) => a.routes.map((r) => `${r.httpMethod} ${r.resourcePath}`));
    expect(routes).toEqual(
      expect.arrayContaining(['POST /runs', 'GET /runs/{id}', 'GET /approvals/{id}', 'POST /approvals/{id}']),
    );
  });
});
