import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { Workflow } from '../../state-machines/workflow.js';

/** A geography prefix of a cross-Region inference profile id (`us.`, `eu.`, …; not `global.`). */
export type BedrockGeography = 'us' | 'us-gov' | 'eu' | 'apac' | 'jp' | 'au';

/**
 * The destination Regions of each geographic inference profile: where Bedrock
 * may route a `us.`/`eu.`/… request, so where the foundation model must be
 * invocable. From AWS's "Supported Regions and models for inference profiles"
 * (Claude 4.x profiles); a profile that routes to fewer Regions is only
 * narrower than this. `global.` profiles route to every commercial Region and
 * are granted through the Region-less foundation-model ARN instead.
 */
export const GEOGRAPHIC_DESTINATIONS: Readonly<Record<BedrockGeography, readonly string[]>> = {
  us: ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2'],
  'us-gov': ['us-gov-east-1', 'us-gov-west-1'],
  eu: [
    'eu-central-1',
    'eu-central-2',
    'eu-north-1',
    'eu-south-1',
    'eu-south-2',
    'eu-west-1',
    'eu-west-2',
    'eu-west-3',
  ],
  apac: [
    'ap-northeast-1',
    'ap-northeast-2',
    'ap-northeast-3',
    'ap-south-1',
    'ap-south-2',
    'ap-southeast-1',
    'ap-southeast-2',
    'ap-southeast-3',
    'ap-southeast-4',
  ],
  jp: ['ap-northeast-1', 'ap-northeast-3'],
  au: ['ap-southeast-2', 'ap-southeast-4'],
};

export interface BedrockAccessProps {
  /** The workflows whose agents on `provider: { kind: 'bedrock' }` the grantee calls. */
  readonly workflows: readonly Workflow[];
  /**
   * Destination Regions per geography, replacing the defaults of the ones given
   * (check a profile with `aws bedrock get-inference-profile`).
   * @default GEOGRAPHIC_DESTINATIONS
   */
  readonly destinations?: Partial<Record<BedrockGeography, readonly string[]>>;
}

/** One model or inference profile some agent calls, in the Region it calls it from. */
export interface BedrockTarget {
  /** The Bedrock id as the agent declares it. */
  readonly modelId: string;
  /** The source Region: the agent's `provider.region`, else the stack's. */
  readonly region: string;
  /** The agents (`workflow/step`) that call it. */
  readonly agents: readonly string[];
}

/**
 * `bedrock:InvokeModel` on exactly the foundation models and inference
 * profiles the deployed workflows' Bedrock agents name, and nothing when none
 * does. A foundation-model id is granted on its ARN in the source Region. An
 * inference profile is granted on the profile's ARN, plus the foundation model
 * in the source Region and in every destination Region of the profile (a
 * `global.` one: also the Region-less foundation-model ARN), those conditioned
 * on `bedrock:InferenceProfileArn` so the model is reachable only through that
 * profile. InvokeModelWithResponseStream is not granted: the adapter does not
 * stream.
 */
export class BedrockAccess extends Construct {
  /** What is granted, one entry per (model id, source Region). Empty: no Bedrock agent. */
  public readonly targets: readonly BedrockTarget[];
  /** The statements {@link grantInvoke} adds. */
  public readonly statements: readonly iam.PolicyStatement[];

  constructor(scope: Construct, id: string, props: BedrockAccessProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const byKey = new Map<string, { modelId: string; region: string; agents: string[] }>();
    for (const workflow of props.workflows) {
      for (const step of workflow.stepsById.values()) {
        if (step.kind !== 'agent' || step.agent.provider.kind !== 'bedrock') continue;
        const { modelId } = step.agent.provider;
        const region = step.agent.provider.region ?? stack.region;
        const key = JSON.stringify([modelId, region]);
        const target = byKey.get(key) ?? { modelId, region, agents: [] };
        target.agents.push(`${workflow.name}/${step.id}`);
        byKey.set(key, target);
      }
    }
    this.targets = [...byKey.values()];
    const destinations = { ...GEOGRAPHIC_DESTINATIONS, ...props.destinations };
    this.statements = this.targets.flatMap((t) => statementsFor(stack, t, destinations));
  }

  /** Lets `grantee` invoke those models and profiles; grants nothing when no agent uses Bedrock. */
  public grantInvoke(grantee: iam.IGrantable): void {
    for (const statement of this.statements) grantee.grantPrincipal.addToPrincipalPolicy(statement);
  }
}

/** An inference profile id's geography (`global`, `us`, …) and its foundation-model id; no geography for a model id. */
export function splitBedrockId(modelId: string): {
  geography?: 'global' | BedrockGeography;
  foundationModel: string;
} {
  const dot = modelId.indexOf('.');
  const head = modelId.slice(0, Math.max(0, dot));
  if (head === 'global' || Object.hasOwn(GEOGRAPHIC_DESTINATIONS, head))
    return { geography: head as 'global' | BedrockGeography, foundationModel: modelId.slice(dot + 1) };
  return { foundationModel: modelId };
}

function statementsFor(
  stack: Stack,
  target: BedrockTarget,
  destinations: Readonly<Record<BedrockGeography, readonly string[]>>,
): iam.PolicyStatement[] {
  const { partition, account } = stack;
  const { geography, foundationModel } = splitBedrockId(target.modelId);
  const model = (region: string) => `arn:${partition}:bedrock:${region}::foundation-model/${foundationModel}`;
  if (geography === undefined) {
    return [new iam.PolicyStatement({ actions: ['bedrock:InvokeModel'], resources: [model(target.region)] })];
  }
  const profile = `arn:${partition}:bedrock:${target.region}:${account}:inference-profile/${target.modelId}`;
  const regions =
    geography === 'global' ? [target.region, ''] : [...new Set([target.region, ...destinations[geography]])];
  return [
    new iam.PolicyStatement({ actions: ['bedrock:InvokeModel'], resources: [profile] }),
    new iam.PolicyStatement({
      actions: ['bedrock:InvokeModel'],
      resources: regions.map(model),
      conditions: { StringEquals: { 'bedrock:InferenceProfileArn': profile } },
    }),
  ];
}
