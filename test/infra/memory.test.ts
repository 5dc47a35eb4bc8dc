import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { newApp } from '../../infra/build-app.js';
import { Chaperone } from '../../infra/chaperone.js';
import { workflows } from './fixtures/memory-workflows.js';
import {
  type CfnResource,
  functionsByHandler,
  ofType,
  resolveFake,
  roleOf,
  statementsOfRole,
  synthChaperone,
} from './synth.js';

const MODULE = fileURLToPath(new URL('./fixtures/memory-workflows.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function synthMemoryApp() {
  const app = newApp({ bundle: false, outdir: mkdtempSync(join(tmpdir(), 'chaperone-memory-test-')) });
  const stack = new Stack(app, 'MemoryTest');
  const agents = new Chaperone(stack, 'Agents', {
    workflows,
    workflowsModule: MODULE,
    projectRoot: ROOT,
    bundlingConditions: ['chaperone-source'],
  });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, CfnResource>;
  return { app, stack, agents, resources };
}

describe('memory in the stack', () => {
  let built: ReturnType<typeof synthMemoryApp>;
  beforeAll(() => {
    built = synthMemoryApp();
  });

  it('deploys one S3 Vectors index per knowledge source and the Memory table', () => {
    const { resources } = built;
    expect(ofType(resources, 'AWS::S3Vectors::VectorBucket')).toHaveLength(1);
    const indexes = ofType(resources, 'AWS::S3Vectors::Index').map(([, r]) => r.Properties);
    expect(indexes).toEqual([
      expect.objectContaining({
        IndexName: 'policies',
        Dimension: 512,
        DistanceMetric: 'cosine',
        DataType: 'float32',
        MetadataConfiguration: { NonFilterableMetadataKeys: ['text', 'document'] },
      }),
    ]);
    const memoryTables = ofType(resources, 'AWS::DynamoDB::Table').filter(
      ([, t]) => t.Metadata?.['chaperone:table'] === 'memory',
    );
    expect(memoryTables).toHaveLength(1);
  });

  it('gives the agent step query access to the indexes and read access to episodes, the finish function write access, both Titan only', () => {
    const { resources } = built;
    const fns = functionsByHandler(resources);
    const agentStep = fns.get('agent-step')?.resource as CfnResource;
    const finish = fns.get('finish')?.resource as CfnResource;
    const envOf = (fn: CfnResource) =>
      (fn.Properties?.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ?? {};
    expect(Object.keys(envOf(agentStep))).toEqual(
      expect.arrayContaining(['CHAPERONE_VECTOR_BUCKET_ARN', 'MEMORY_TABLE']),
    );
    expect(Object.keys(envOf(finish))).toContain('MEMORY_TABLE');
    expect(Object.keys(envOf(finish))).not.toContain('CHAPERONE_VECTOR_BUCKET_ARN');

    const agentStatements = statementsOfRole(resources, roleOf(agentStep));
    const vectors = agentStatements.filter((s) => s.Action.some((a) => a.startsWith('s3vectors:')));
    expect(vectors.flatMap((s) => s.Action).sort()).toEqual([
      's3vectors:GetIndex',
      's3vectors:GetVectors',
      's3vectors:QueryVectors',
    ]);
    expect(
      vectors
        .flatMap((s) => s.Resource)
        .map(resolveFake)
        .join(' '),
    ).not.toContain('*');
    const titan = 'arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0';
    for (const fn of [agentStep, finish]) {
      const bedrock = statementsOfRole(resources, roleOf(fn)).filter((s) =>
        s.Action.includes('bedrock:InvokeModel'),
      );
      expect(bedrock.flatMap((s) => s.Resource).map(resolveFake)).toEqual([titan]);
    }
    const finishWrites = statementsOfRole(resources, roleOf(finish)).flatMap((s) => s.Action);
    expect(finishWrites).toContain('dynamodb:PutItem');
    expect(finishWrites.some((a) => a.startsWith('s3vectors:'))).toBe(false);
  });

  it('passes cdk-nag AwsSolutions', () => {
    const report = new AwsSolutionsChecks().validateScope(built.app);
    const findings = report.violations.map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
  });

  it('deploys nothing for memory when no workflow uses it (the invoice example)', () => {
    const { resources } = synthChaperone({ validate: false });
    expect(ofType(resources, 'AWS::S3Vectors::VectorBucket')).toEqual([]);
    expect(
      ofType(resources, 'AWS::DynamoDB::Table').filter(
        ([, t]) => t.Metadata?.['chaperone:table'] === 'memory',
      ),
    ).toEqual([]);
  });
});
