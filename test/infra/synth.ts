import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../examples/invoice/app.js';
import type { Chaperone } from '../../infra/chaperone.js';

/** A CloudFormation resource as the assertions library returns it. */
export interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  Metadata?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}

export interface Synthesised {
  app: App;
  stack: Stack;
  agents: Chaperone;
  template: Template;
  resources: Record<string, CfnResource>;
}

/**
 * Synthesise the app in-process without bundling (placeholder code). CDK's
 * CloudFormation validation is on unless `validate: false`: it throws on a
 * dependency cycle, and costs seconds.
 */
export function synthChaperone(
  options: { context?: Record<string, unknown>; validate?: boolean } = {},
): Synthesised {
  const outdir = mkdtempSync(join(tmpdir(), 'chaperone-infra-test-'));
  const { app, stack, agents } = buildApp({ bundle: false, outdir, ...options });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, CfnResource>;
  return { app, stack, agents, template, resources };
}

/** Logical ids and resources of one type. */
export function ofType(resources: Record<string, CfnResource>, type: string): Array<[string, CfnResource]> {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

/** The Lambda functions keyed by their `chaperone:handler` file name (`agent-step`, …). */
export function functionsByHandler(
  resources: Record<string, CfnResource>,
): Map<string, { id: string; resource: CfnResource }> {
  const out = new Map<string, { id: string; resource: CfnResource }>();
  for (const [id, resource] of ofType(resources, 'AWS::Lambda::Function')) {
    const handler = resource.Metadata?.['chaperone:handler'];
    if (typeof handler === 'string') out.set(basename(handler).replace(/\.m?ts$/, ''), { id, resource });
  }
  return out;
}

/** An IAM statement, normalised to arrays. */
export interface Statement {
  Effect: string;
  Action: string[];
  Resource: unknown[];
}

/** Every statement of every policy attached to a role (inline `Policies` and `AWS::IAM::Policy`). */
export function statementsOfRole(resources: Record<string, CfnResource>, roleId: string): Statement[] {
  const docs: unknown[] = [];
  const role = resources[roleId];
  for (const p of (role?.Properties?.Policies as Array<{ PolicyDocument: unknown }> | undefined) ?? [])
    docs.push(p.PolicyDocument);
  for (const [, policy] of ofType(resources, 'AWS::IAM::Policy')) {
    const roles = (policy.Properties?.Roles as unknown[] | undefined) ?? [];
    if (roles.some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })))
      docs.push(policy.Properties?.PolicyDocument);
  }
  return docs.flatMap((doc) =>
    ((doc as { Statement: Array<Record<string, unknown>> }).Statement ?? []).map((s) => ({
      Effect: String(s.Effect),
      Action: ([] as unknown[]).concat(s.Action).map(String),
      Resource: ([] as unknown[]).concat(s.Resource),
    })),
  );
}

/** The role logical id of a function resource (`Role: { Fn::GetAtt: [id, Arn] }`). */
export function roleOf(fn: CfnResource): string {
  const role = fn.Properties?.Role as { 'Fn::GetAtt': [string, string] };
  return role['Fn::GetAtt'][0];
}

/**
 * Replace CloudFormation intrinsics in a value with plain strings: `Fn::GetAtt`
 * and `Ref` become fake ARNs naming the logical id, `Fn::Join` joins.
 */
export function resolveFake(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const v = value as Record<string, unknown>;
    if ('Fn::Join' in v) {
      const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
      return parts.map(resolveFake).join(sep);
    }
    if ('Fn::GetAtt' in v) return fakeArn((v['Fn::GetAtt'] as [string, string])[0]);
    if ('Ref' in v) {
      const ref = String(v.Ref);
      if (ref === 'AWS::Partition') return 'aws';
      if (ref === 'AWS::Region') return 'us-east-1';
      if (ref === 'AWS::AccountId') return '123456789012';
      if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
      return fakeArn(ref);
    }
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

export const fakeArn = (logicalId: string): string =>
  `arn:aws:lambda:us-east-1:123456789012:function:${logicalId}`;
