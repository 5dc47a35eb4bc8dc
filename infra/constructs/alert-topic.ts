import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { acknowledge } from '../acknowledge.js';

export interface AlertTopicProps {
  /** Email addresses subscribed to every alert (each confirms once). @default - none: subscribe later */
  readonly emails?: readonly string[];
  /** What happens to the topic's KMS key when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly keyRemovalPolicy?: RemovalPolicy;
}

/**
 * The topic that pages someone: guardrail rejections (a read-only agent
 * reaching for a destructive tool), open circuit breakers, and every alarm.
 * Encrypted with its own rotating key, which CloudWatch alarms may use;
 * publishing requires TLS.
 */
export class AlertTopic extends Construct {
  /** The SNS topic (`ALERT_TOPIC_ARN`). */
  public readonly topic: sns.Topic;
  /** The customer-managed key the topic is encrypted with. */
  public readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: AlertTopicProps = {}) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Chaperone alert topic encryption',
      enableKeyRotation: true,
      removalPolicy: props.keyRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    // CloudWatch alarms publish to an encrypted topic only if the key lets them.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Chaperone alerts',
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const email of props.emails ?? [])
      this.topic.addSubscription(new subscriptions.EmailSubscription(email));
  }

  /** Publish alerts (SNS publish plus use of the topic's key). */
  public grantAlert(grantee: iam.IGrantable): iam.Grant {
    const grant = this.topic.grantPublish(grantee);
    if (Construct.isConstruct(grantee.grantPrincipal)) {
      acknowledge(
        grantee.grantPrincipal,
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
        "kms:GenerateDataKey* (plain and WithoutPlaintext) on the alert topic's own key only, as SNS needs to publish to an encrypted topic.",
      );
    }
    return grant;
  }
}
