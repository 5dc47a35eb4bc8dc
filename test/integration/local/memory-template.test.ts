import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { newApp } from '../../../infra/build-app.js';
import { Chaperone } from '../../../infra/chaperone.js';
import { vectorIndexesOf } from '../../../local/memory/s3vectors-store.js';
import { type CfnTemplate, readLocalApp } from '../../../local/runtime/template.js';
import { workflows } from '../../infra/fixtures/memory-workflows.js';

describe('the local runtime reads memory from the synthesised template', () => {
  it('serves the declared indexes and hands the functions the local vector bucket and Memory table', () => {
    const app = newApp({ bundle: false, outdir: mkdtempSync(join(tmpdir(), 'chaperone-memory-local-')) });
    const stack = new Stack(app, 'MemoryLocal');
    new Chaperone(stack, 'Agents', {
      workflows,
      workflowsModule: fileURLToPath(new URL('../../infra/fixtures/memory-workflows.ts', import.meta.url)),
      projectRoot: fileURLToPath(new URL('../../..', import.meta.url)),
      bundlingConditions: ['chaperone-source'],
    });
    const template = Template.fromStack(stack).toJSON() as CfnTemplate;

    const [spec] = vectorIndexesOf(template);
    expect(spec).toMatchObject({
      name: 'policies',
      dimension: 512,
      distanceMetric: 'cosine',
      nonFilterableKeys: ['text', 'document'],
    });

    const local = readLocalApp(template);
    const agentStep = local.functions.find((f) => f.handlerPath.endsWith('agent-step.mts'));
    expect(agentStep?.env.CHAPERONE_VECTOR_BUCKET_ARN).toBe(
      `arn:aws:s3vectors:us-east-1:000000000000:bucket/${spec?.bucket}`,
    );
    expect(local.tables.map((t) => t.tableName)).toContain(agentStep?.env.MEMORY_TABLE);
  });
});
