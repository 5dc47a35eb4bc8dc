import { Arn, Stack } from 'aws-cdk-lib';
import * as bedrock from 'aws-cdk-lib/aws-bedrock';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { Workflow } from '../../state-machines/workflow.js';

export interface PromptGuardrailProps {
  /** The workflows whose `guardrails.classifier` may be `bedrock-guardrails`. */
  readonly workflows: readonly Workflow[];
  /**
   * The prompt-attack filter's strength on input.
   * @default 'HIGH'
   */
  readonly promptAttackStrength?: 'LOW' | 'MEDIUM' | 'HIGH';
}

/**
 * The classifier tier's Amazon Bedrock guardrail: created only when some
 * workflow asks for `bedrock-guardrails` without naming its own guardrail. It
 * has one policy, the prompt-attack content filter on input (output NONE, as
 * Bedrock requires for that filter), and a published version. `grantApply`
 * gives the agent-step function `bedrock:ApplyGuardrail` on exactly the
 * guardrails the workflows use (this one, and any named by id or ARN) and
 * sets `CHAPERONE_GUARDRAIL_ID`/`_VERSION`. With no such workflow it creates
 * nothing and grants nothing.
 */
export class PromptGuardrail extends Construct {
  /** The guardrail, when this stack owns one. */
  public readonly guardrail: bedrock.CfnGuardrail | undefined;
  public readonly version: bedrock.CfnGuardrailVersion | undefined;
  /** Guardrails named by the workflows themselves (ids or ARNs). */
  public readonly named: readonly string[];

  constructor(scope: Construct, id: string, props: PromptGuardrailProps) {
    super(scope, id);
    const classifiers = props.workflows.flatMap((w) =>
      w.guardrails.classifier?.kind === 'bedrock-guardrails' ? [w.guardrails.classifier] : [],
    );
    this.named = [...new Set(classifiers.flatMap((c) => (c.guardrailId ? [c.guardrailId] : [])))];
    if (!classifiers.some((c) => !c.guardrailId)) return;
    this.guardrail = new bedrock.CfnGuardrail(this, 'Guardrail', {
      name: `${Stack.of(this).stackName}-prompt-attack`.slice(0, 50),
      description: 'Chaperone classifier tier: the prompt-attack filter on run inputs and tool results.',
      contentPolicyConfig: {
        filtersConfig: [
          {
            type: 'PROMPT_ATTACK',
            inputStrength: props.promptAttackStrength ?? 'HIGH',
            outputStrength: 'NONE',
          },
        ],
      },
      blockedInputMessaging: 'Chaperone withheld this text: it looks like a prompt injection.',
      blockedOutputsMessaging: 'Chaperone withheld this text.',
    });
    this.version = new bedrock.CfnGuardrailVersion(this, 'Version', {
      guardrailIdentifier: this.guardrail.attrGuardrailArn,
      description: 'Published by the Chaperone construct.',
    });
  }

  /** `bedrock:ApplyGuardrail` on the guardrails in use, and this stack's guardrail in the function's environment. */
  grantApply(fn: lambda.Function): void {
    const stack = Stack.of(this);
    const arns = this.named.map((g) =>
      g.startsWith('arn:')
        ? g
        : Arn.format({ service: 'bedrock', resource: 'guardrail', resourceName: g }, stack),
    );
    if (this.guardrail) arns.push(this.guardrail.attrGuardrailArn);
    if (arns.length === 0) return;
    fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['bedrock:ApplyGuardrail'], resources: arns }));
    if (this.guardrail && this.version) {
      fn.addEnvironment('CHAPERONE_GUARDRAIL_ID', this.guardrail.attrGuardrailArn);
      fn.addEnvironment('CHAPERONE_GUARDRAIL_VERSION', this.version.attrVersion);
    }
  }
}
