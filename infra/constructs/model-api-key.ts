import { RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from '../acknowledge.js';

export interface ModelApiKeyProps {
  /** What happens to the secret when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The Anthropic API key (`ANTHROPIC_SECRET_ARN`). Deployed with a generated
 * placeholder; put the real key in after the first deploy:
 * `aws secretsmanager put-secret-value --secret-id <ModelApiKeySecretArn> --secret-string sk-ant-…`.
 * The agent step reads it at cold start.
 */
export class ModelApiKey extends Construct {
  /** The secret holding the API key as plain text. */
  public readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: ModelApiKeyProps = {}) {
    super(scope, id);
    this.secret = new secretsmanager.Secret(this, 'Secret', {
      description:
        'Chaperone: Anthropic API key. Replace the generated placeholder with your key (plain text).',
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    acknowledge(
      this.secret,
      'AwsSolutions-SMG4',
      'The Anthropic API key is issued by Anthropic and rotated in its console; a Lambda rotator cannot create a new key.',
    );
  }

  /** Read the API key. */
  public grantUse(grantee: iam.IGrantable): iam.Grant {
    return this.secret.grantRead(grantee);
  }
}
