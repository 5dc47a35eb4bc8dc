import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { newApp } from '../../infra/build-app.js';
import { Chaperone } from '../../infra/chaperone.js';
import { defineWorkflow } from '../../state-machines/index.js';
import { workflows } from './fixtures/guardrail-workflows.js';
import { type CfnResource, functionsByHandler, ofType, roleOf } from './synth.js';

const MODULE = fileURLToPath(new URL('./fixtures/guardrail-workflows.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function synth(ws: typeof workflows) {
  const app = newApp({ bundle: false, outdir: mkdtempSync(join(tmpdir(), 'chaperone-guardrail-test-')) });
  const stack = new Stack(app, 'GuardrailTest');
  new Chaperone(stack, 'Agents', {
    workflows: ws,
    workflowsModule: MODULE,
    projectRoot: ROOT,
    bundlingConditions: ['chaperone-source'],
  });
  return { app, resources: Template.fromStack(stack).toJSON().Resources as Record<string, CfnResource> };
}

describe('the classifier tier’s Bedrock guardrail', () => {
  const { app, resources } = synth(workflows);

  it('creates one guardrail with the prompt-attack filter on input, and publishes a version', () => {
    const guardrails = ofType(resources, 'AWS::Bedrock::Guardrail');
    const [, guardrail] = guardrails[0] ?? [];

    expect(guardrails).toHaveLength(1);
    expect(guardrail?.Properties?.ContentPolicyConfig).toEqual({
      FiltersConfig: [{ Type: 'PROMPT_ATTACK', InputStrength: 'HIGH', OutputStrength: 'NONE' }],
    });
    expect(ofType(resources, 'AWS::Bedrock::GuardrailVersion')).toHaveLength(1);
  });

  it('lets only the agent step apply exactly the guardrails in use, and tells it which is the stack’s own', () => {
    const agentStep = functionsByHandler(resources).get('agent-step');
    const statements = ofType(resources, 'AWS::IAM::Policy').flatMap(([, p]) =>
      (
        propertyOf(p, 'PolicyDocument') as {
          Statement: Array<{ Action: string | string[]; Resource: unknown }>;
        }
      ).Statement.filter((s) => ([] as string[]).concat(s.Action).includes('bedrock:ApplyGuardrail')).map(
        (s) => ({ roles: p.Properties?.Roles, resource: s.Resource }),
      ),
    );

    expect(statements).toHaveLength(1);
    expect(JSON.stringify(statements[0]?.roles)).toContain(roleOf(agentStep?.resource as CfnResource));
    expect(JSON.stringify(statements[0]?.resource)).toContain(':guardrail/abcdef123456');
    expect(JSON.stringify(statements[0]?.resource)).toContain('"GuardrailArn"');
    expect(JSON.stringify(statements[0]?.resource)).not.toContain('*');
    if (!agentStep) throw new Error('no agent-step function');
    const env = (propertyOf(agentStep.resource, 'Environment') as { Variables: Record<string, unknown> })
      .Variables;
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining(['CHAPERONE_GUARDRAIL_ID', 'CHAPERONE_GUARDRAIL_VERSION']),
    );
  });

  it('cdk-nag AwsSolutions finds nothing', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(
      report.violations.map(
        (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
  });

  it('creates and grants nothing when no workflow asks for Bedrock Guardrails', () => {
    const judgeOnly = workflows.filter((w) => w.guardrails.classifier?.kind !== 'bedrock-guardrails');
    const { resources: none } = synth(judgeOnly);

    expect(ofType(none, 'AWS::Bedrock::Guardrail')).toEqual([]);
    expect(JSON.stringify(none)).not.toContain('bedrock:ApplyGuardrail');
  });

  it('refuses a malformed guardrail id at definition time, naming the field', () => {
    expect(() =>
      defineWorkflow({
        name: 'bad-guard',
        description: 'x',
        input: { type: 'object' } as const,
        steps: workflows[0]?.steps ?? [],
        guardrails: { classifier: { kind: 'bedrock-guardrails', guardrailId: 'not an id' } },
      }),
    ).toThrow(/guardrails\.classifier\.guardrailId must be a 12-character guardrail id or its ARN/);
  });
});

/** One property of a template resource. */
function propertyOf(resource: CfnResource, name: string): unknown {
  const properties: Record<string, unknown> = resource.Properties ?? {};
  return properties[name];
}
