/**
 * Tool code fenced in by IAM: each tool runs in its own function whose role
 * holds only what the app granted that tool; a read tool granted a write
 * fails synth; task callbacks and invokes are scoped to the stack's own.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../examples/invoice/app.js';
import { isWriteAction } from '../../infra/constructs/tool-access.js';
import { type CfnResource, ofType, roleOf, statementsOfRole, synthChaperone } from './synth.js';

const BASELINE = [
  'logs:CreateLogStream',
  'logs:PutLogEvents',
  'xray:PutTelemetryRecords',
  'xray:PutTraceSegments',
];
const READ = [
  'dynamodb:BatchGetItem',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
  'dynamodb:GetItem',
  'dynamodb:GetRecords',
  'dynamodb:GetShardIterator',
  'dynamodb:Query',
  'dynamodb:Scan',
];
const WRITE = ['dynamodb:BatchWriteItem', 'dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];

let synth: ReturnType<typeof synthChaperone>;
const toolFunction = (tool: string): [string, CfnResource] => {
  const found = ofType(synth.resources, 'AWS::Lambda::Function').find(
    ([, r]) =>
      (r.Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables?.CHAPERONE_TOOL ===
      tool,
  );
  if (!found) throw new Error(`no function for tool ${tool}`);
  return found;
};
const tableId = (role: string) =>
  ofType(synth.resources, 'AWS::DynamoDB::Table').find(
    ([, t]) => t.Metadata?.['chaperone:table'] === role,
  )?.[0] ?? '';

beforeAll(() => {
  synth = synthChaperone({ validate: false });
});

describe('each tool in its own function', () => {
  it('gives every tool a function of its own, running the tool-runner entry', () => {
    const tools = ['lookup_invoice', 'find_vendor', 'find_vendor_cached', 'schedule_payment'];

    for (const tool of tools) {
      const [, fn] = toolFunction(tool);
      expect(String(fn.Metadata?.['chaperone:handler'])).toMatch(/tool-runner\.mts$/);
    }
    expect(new Set(tools.map((t) => roleOf(toolFunction(t)[1]))).size).toBe(tools.length);
  });

  it("holds exactly what the app granted each tool: reads for the read tools, writes for the payment's", () => {
    const backend = tableId('invoice-backend');
    const actionsOf = (tool: string) =>
      statementsOfRole(synth.resources, roleOf(toolFunction(tool)[1]))
        .flatMap((s) => s.Action)
        .sort();

    for (const tool of ['lookup_invoice', 'find_vendor', 'find_vendor_cached'])
      expect(actionsOf(tool), tool).toEqual([...BASELINE, ...READ].sort());
    expect(actionsOf('schedule_payment')).toEqual([...BASELINE, ...READ, ...WRITE].sort());
    for (const tool of ['lookup_invoice', 'schedule_payment']) {
      const data = statementsOfRole(synth.resources, roleOf(toolFunction(tool)[1])).filter((s) =>
        s.Action.some((a) => a.startsWith('dynamodb:')),
      );
      expect(JSON.stringify(data.map((s) => s.Resource)), tool).toContain(backend);
    }
  });

  it("never reaches Chaperone's tables or task callbacks from a tool's role", () => {
    const own = ['runs', 'approvals', 'breakers'].map(tableId);
    for (const tool of ['lookup_invoice', 'find_vendor', 'find_vendor_cached', 'schedule_payment']) {
      const statements = statementsOfRole(synth.resources, roleOf(toolFunction(tool)[1]));
      const text = JSON.stringify(statements);

      for (const table of own) expect(text, `${tool} and ${table}`).not.toContain(table);
      expect(
        statements.flatMap((s) => s.Action).filter((a) => a.startsWith('states:')),
        tool,
      ).toEqual([]);
    }
  });

  it("lets the workflow's tool step invoke its tools and nothing else; the state machine invokes only the tool step", () => {
    const toolIds = ['lookup_invoice', 'find_vendor', 'find_vendor_cached', 'schedule_payment'].map(
      (t) => toolFunction(t)[0],
    );
    const [stepId, step] =
      ofType(synth.resources, 'AWS::Lambda::Function').find(([, r]) =>
        String(r.Metadata?.['chaperone:handler']).endsWith('tool-step.mts'),
      ) ?? [];
    const invokes = (roleId: string) =>
      statementsOfRole(synth.resources, roleId).filter((s) => s.Action.includes('lambda:InvokeFunction'));

    const byStep = JSON.stringify(invokes(roleOf(step as CfnResource)).map((s) => s.Resource));
    for (const id of toolIds) expect(byStep).toContain(id);
    const [machineRole] = ofType(synth.resources, 'AWS::IAM::Role').filter(([id]) =>
      id.includes('StateMachineRole'),
    )[0] ?? [''];
    const byMachine = JSON.stringify(invokes(machineRole).map((s) => s.Resource));
    expect(byMachine).toContain(String(stepId));
    for (const id of toolIds) expect(byMachine).not.toContain(id);
  });
});

describe('access classes at synth', () => {
  const fresh = () =>
    buildApp({ bundle: false, validate: false, outdir: mkdtempSync(join(tmpdir(), 'chaperone-access-')) });

  it('fails synth when a read tool is granted a write, naming the tool and the statement', () => {
    const { stack, agents, backend } = fresh();
    backend.table.grantWriteData(agents.toolRole('lookup_invoice'));

    expect(() => Template.fromStack(stack)).toThrow(
      /tool "lookup_invoice" is a read tool, but its role \(.*DefaultPolicy.*\) is granted .*dynamodb:PutItem/,
    );
  });

  it('lets an acknowledged read tool write, with its reason', () => {
    const { stack, agents, backend } = fresh();
    backend.table.grantWriteData(agents.toolRole('lookup_invoice'));
    agents.acknowledgeToolWrite('lookup_invoice', 'it records every lookup in an audit table of its own');

    expect(() => Template.fromStack(stack)).not.toThrow();
    expect(() => agents.acknowledgeToolWrite('lookup_invoice', 'because')).toThrow(/at least 10 characters/);
  });

  it('refuses a grant for a tool no workflow has, naming the tools there are', () => {
    const { agents } = fresh();

    expect(() => agents.toolRole('pay_everyone')).toThrow(
      /no workflow of .* has a tool named pay_everyone; its tools: lookup_invoice, find_vendor, find_vendor_cached, schedule_payment/,
    );
  });
});

describe('what counts as a write', () => {
  it('classes wildcards by their literal part, and PartiQL, batch, assume and pass as writes', () => {
    for (const action of [
      '*',
      's3:*',
      's3:Pu*',
      'dynamodb:Up*',
      'sqs:Se*',
      'lambda:Inv*',
      'dynamodb:PartiQL*',
    ])
      expect(isWriteAction(action), action).toBe(true);
    for (const action of [
      'dynamodb:PartiQLUpdate',
      'glue:BatchDeleteTable',
      'sts:AssumeRole',
      'iam:PassRole',
    ])
      expect(isWriteAction(action), action).toBe(true);
    for (const action of [
      'dynamodb:Get*',
      'dynamodb:BatchGetItem',
      's3:List*',
      'dynamodb:Query',
      'dynamodb:PartiQLSelect',
    ])
      expect(isWriteAction(action), action).toBe(false);
  });

  it('fails synth for a read tool granted through NotAction or a managed policy attached to its role', () => {
    const first = buildApp({
      bundle: false,
      validate: false,
      outdir: mkdtempSync(join(tmpdir(), 'chaperone-access-')),
    });
    first.agents
      .toolRole('lookup_invoice')
      .addToPrincipalPolicy(new iam.PolicyStatement({ notActions: ['iam:*'], resources: ['*'] }));
    expect(() => Template.fromStack(first.stack)).toThrow(
      /tool "lookup_invoice" is a read tool, .*NotAction/,
    );

    const second = buildApp({
      bundle: false,
      validate: false,
      outdir: mkdtempSync(join(tmpdir(), 'chaperone-access-')),
    });
    new iam.ManagedPolicy(second.stack, 'Sneaky', {
      roles: [second.agents.toolRole('find_vendor')],
      statements: [new iam.PolicyStatement({ actions: ['s3:Pu*'], resources: ['*'] })],
    });
    expect(() => Template.fromStack(second.stack)).toThrow(/tool "find_vendor" is a read tool, .*s3:Pu\*/);
  });
});
