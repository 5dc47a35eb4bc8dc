import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { workflows } from '../../examples/index.js';
import { newApp } from '../../infra/build-app.js';
import { Chaperone } from '../../infra/chaperone.js';
import {
  type CfnResource,
  functionsByHandler,
  ofType,
  resolveFake,
  roleOf,
  type Statement,
  statementsOfRole,
  synthChaperone,
} from './synth.js';

const MODULE = fileURLToPath(new URL('../../examples/index.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function synthIn(region: string | undefined, props: { pricingRegion?: string } = {}) {
  const app = newApp({ bundle: false, outdir: mkdtempSync(join(tmpdir(), 'chaperone-payloads-test-')) });
  const stack = new Stack(app, 'PayloadsTest', region ? { env: { region, account: '123456789012' } } : {});
  new Chaperone(stack, 'Agents', {
    workflows,
    workflowsModule: MODULE,
    projectRoot: ROOT,
    bundlingConditions: ['chaperone-source'],
    ...props,
  });
  return Template.fromStack(stack).toJSON().Resources as Record<string, CfnResource>;
}

describe('the payload bucket', () => {
  let resources: Record<string, CfnResource>;
  let bucketId: string;
  beforeAll(() => {
    resources = synthChaperone({ validate: false }).resources;
    const buckets = ofType(resources, 'AWS::S3::Bucket');
    expect(buckets).toHaveLength(1);
    bucketId = (buckets[0] as [string, CfnResource])[0];
  });

  it('is private, encrypted, TLS-only, and lets payloads expire', () => {
    const bucket = resources[bucketId]?.Properties ?? {};
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(JSON.stringify(bucket.BucketEncryption)).toContain('AES256');
    expect(bucket.LifecycleConfiguration).toEqual({
      Rules: [{ ExpirationInDays: 90, Prefix: 'runs/', Status: 'Enabled' }],
    });
    const policy = ofType(resources, 'AWS::S3::BucketPolicy')[0]?.[1];
    expect(JSON.stringify(policy?.Properties?.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
  });

  it('grants PutObject and GetObject on runs/* to the steps that offload, GetObject to finish, nothing to others', () => {
    const fns = functionsByHandler(resources);
    const s3Statements = (handler: string): Statement[] => {
      const fn = fns.get(handler)?.resource as CfnResource;
      return statementsOfRole(resources, roleOf(fn)).filter((s) => s.Action.some((a) => a.startsWith('s3:')));
    };
    const grants = (handler: string) =>
      s3Statements(handler)
        .flatMap((s) => s.Action.map((a) => `${a} ${s.Resource.map(resolveFake).join(',')}`))
        .sort();
    const bucketArn = `arn:aws:lambda:us-east-1:123456789012:function:${bucketId}/runs/*`;
    for (const handler of ['agent-step', 'tool-step', 'code-step'])
      expect(grants(handler), handler).toEqual([`s3:GetObject ${bucketArn}`, `s3:PutObject ${bucketArn}`]);
    expect(grants('finish')).toEqual([`s3:GetObject ${bucketArn}`]);
    for (const handler of ['api', 'approval-request', 'tool-runner'])
      expect(grants(handler), handler).toEqual([]);
  });
});

describe('the pricing Region', () => {
  it('is the stack Region when it has one, passed to every Chaperone function', () => {
    const resources = synthIn('us-west-2');
    const fn = functionsByHandler(resources).get('agent-step')?.resource;
    const env =
      (fn?.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};
    expect(env.CHAPERONE_PRICING_REGION).toBe('us-west-2');
  });

  it('a Region missing from the price table fails synth, naming it', () => {
    expect(() => synthIn('ap-south-2')).toThrow(/Region "ap-south-2" is not in the service price table/);
    expect(() => synthIn(undefined, { pricingRegion: 'eu-nowhere-1' })).toThrow(/"eu-nowhere-1"/);
  });
});
