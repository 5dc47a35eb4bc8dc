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
import { GEOGRAPHIC_DESTINATIONS } from '../../infra/constructs/bedrock-access.js';
import { BEDROCK_GEOGRAPHIES } from '../../lambdas/core/pricing.js';
import { workflows as bedrockWorkflows } from './fixtures/bedrock-workflows.js';
import {
  type CfnResource,
  functionsByHandler,
  ofType,
  resolveFake,
  roleOf,
  synthChaperone,
} from './synth.js';

const MODULE = fileURLToPath(new URL('./fixtures/bedrock-workflows.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** A test app (not the invoice example) deploying the Bedrock workflows. */
function synthBedrockApp() {
  const app = newApp({ bundle: false, outdir: mkdtempSync(join(tmpdir(), 'chaperone-bedrock-test-')) });
  // Environment-agnostic, as the example: Region and account are tokens (resolved to us-east-1, 123456789012 below).
  const stack = new Stack(app, 'BedrockTest');
  const agents = new Chaperone(stack, 'Agents', {
    workflows: bedrockWorkflows,
    workflowsModule: MODULE,
    projectRoot: ROOT,
    bundlingConditions: ['chaperone-source'],
  });
  const resources = Template.fromStack(stack).toJSON().Resources as Record<string, CfnResource>;
  return { app, stack, agents, resources };
}

interface RawStatement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** Every statement naming a bedrock: action, across every policy in the template, with its roles. */
function bedrockStatements(resources: Record<string, CfnResource>) {
  const out: Array<RawStatement & { roles: unknown[] }> = [];
  for (const [, policy] of ofType(resources, 'AWS::IAM::Policy')) {
    const doc = policy.Properties?.PolicyDocument as { Statement: RawStatement[] };
    for (const s of doc.Statement) {
      const actions = ([] as string[]).concat(s.Action);
      if (!actions.some((a) => a.startsWith('bedrock:'))) continue;
      // Partition tokens resolved to `aws`, as the stack resolves them in the commercial partition.
      const resource = Array.isArray(s.Resource) ? s.Resource.map(resolveFake) : resolveFake(s.Resource);
      const condition = s.Condition as { StringEquals?: Record<string, unknown> } | undefined;
      out.push({
        ...s,
        Resource: resource,
        Condition: condition?.StringEquals
          ? {
              StringEquals: Object.fromEntries(
                Object.entries(condition.StringEquals).map(([k, v]) => [k, resolveFake(v)]),
              ),
            }
          : condition,
        roles: (policy.Properties?.Roles as unknown[]) ?? [],
      });
    }
  }
  return out;
}

describe('Bedrock access', () => {
  let built: ReturnType<typeof synthBedrockApp>;
  beforeAll(() => {
    built = synthBedrockApp();
  });

  it('grants the agent step InvokeModel on exactly the models and profiles of the Bedrock agents', () => {
    const { resources } = built;

    const statements = bedrockStatements(resources);
    const agentStepRole = roleOf(functionsByHandler(resources).get('agent-step')?.resource as CfnResource);

    for (const s of statements) expect(s.roles).toEqual([{ Ref: agentStepRole }]);
    const usProfile =
      'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0';
    const globalProfile =
      'arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-haiku-4-5-20251001-v1:0';
    expect(
      statements.map(({ Effect, Action, Resource, Condition }) => ({ Effect, Action, Resource, Condition })),
    ).toEqual([
      { Effect: 'Allow', Action: 'bedrock:InvokeModel', Resource: usProfile, Condition: undefined },
      {
        Effect: 'Allow',
        Action: 'bedrock:InvokeModel',
        // The source Region (the stack's, a token here), then every destination of the us. profile.
        Resource: ['us-east-1', 'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2'].map(
          (r) => `arn:aws:bedrock:${r}::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0`,
        ),
        Condition: { StringEquals: { 'bedrock:InferenceProfileArn': usProfile } },
      },
      { Effect: 'Allow', Action: 'bedrock:InvokeModel', Resource: globalProfile, Condition: undefined },
      {
        Effect: 'Allow',
        Action: 'bedrock:InvokeModel',
        Resource: [
          'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0',
          'arn:aws:bedrock:::foundation-model/anthropic.claude-haiku-4-5-20251001-v1:0',
        ],
        Condition: { StringEquals: { 'bedrock:InferenceProfileArn': globalProfile } },
      },
      // The in-Region model of two workflows' agents, in the Region its provider names: once.
      {
        Effect: 'Allow',
        Action: 'bedrock:InvokeModel',
        Resource: 'arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-sonnet-4-6',
        Condition: undefined,
      },
    ]);
  });

  it('grants no streaming and no wildcard, and cdk-nag AwsSolutions finds nothing in the Bedrock app', () => {
    const { app, resources } = built;

    const granted = bedrockStatements(resources);
    expect(granted.flatMap((s) => ([] as string[]).concat(s.Action))).not.toContain(
      'bedrock:InvokeModelWithResponseStream',
    );
    expect(JSON.stringify(granted.map((s) => s.Resource))).not.toContain('*');
    const report = new AwsSolutionsChecks().validateScope(app);
    const findings = report.violations.map(
      (v) => `${v.severity} ${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
  });

  it('lists the Bedrock targets with the agents that call them', () => {
    const { agents, stack } = built;

    expect(agents.bedrockAccess.targets).toEqual([
      {
        modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0',
        region: stack.region,
        agents: ['bedrock-mix/a'],
      },
      {
        modelId: 'global.anthropic.claude-haiku-4-5-20251001-v1:0',
        region: stack.region,
        agents: ['bedrock-mix/b'],
      },
      {
        modelId: 'anthropic.claude-sonnet-4-6',
        region: 'eu-west-1',
        agents: ['bedrock-mix/c', 'bedrock-again/again'],
      },
    ]);
  });

  it('grants nothing on Bedrock when no agent uses it (the invoice example)', () => {
    const synth = synthChaperone({ validate: false });

    expect(bedrockStatements(synth.resources)).toEqual([]);
    expect(synth.agents.bedrockAccess.targets).toEqual([]);
  });

  it('knows the destinations of every geography the price table prices', () => {
    expect(['global', ...Object.keys(GEOGRAPHIC_DESTINATIONS)].sort()).toEqual(
      [...BEDROCK_GEOGRAPHIES].sort(),
    );
  });
});
