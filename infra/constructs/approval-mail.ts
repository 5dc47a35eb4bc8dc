import { RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';
import { acknowledge } from '../acknowledge.js';

export interface ApprovalMailProps {
  /**
   * The address approval emails come from. SES verifies it on deploy (a
   * confirmation email goes to it); in the SES sandbox recipients must be
   * verified too.
   * @default 'approvals@example.com'
   */
  readonly fromAddress?: string;
}

/**
 * What approval emails need: the SES identity they are sent from, and the
 * HMAC key that signs the links in them (`GET /approvals/{id}?sig=…` signs id
 * and expiry; the task token never leaves the server).
 */
export class ApprovalMail extends Construct {
  /** The SES identity of the from address. */
  public readonly identity: ses.EmailIdentity;
  /** The HMAC signing key of approval links (`APPROVAL_SECRET_ARN`): 64 generated characters. */
  public readonly signingSecret: secretsmanager.Secret;
  /** `SES_FROM_ADDRESS`. */
  public readonly fromAddress: string;

  constructor(scope: Construct, id: string, props: ApprovalMailProps = {}) {
    super(scope, id);
    this.fromAddress = props.fromAddress ?? 'approvals@example.com';
    this.identity = new ses.EmailIdentity(this, 'Identity', {
      identity: ses.Identity.email(this.fromAddress),
    });
    this.signingSecret = new secretsmanager.Secret(this, 'SigningSecret', {
      description: 'Chaperone: HMAC key that signs approval links',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    acknowledge(
      this.signingSecret,
      'AwsSolutions-SMG4',
      'Rotating the approval-link HMAC key would invalidate every link already emailed; rotate by hand between approval windows.',
    );
  }

  /** Sign and verify approval links. */
  public grantSign(grantee: iam.IGrantable): iam.Grant {
    return this.signingSecret.grantRead(grantee);
  }

  /** Send email from the identity (`ses:SendEmail` on that identity only). */
  public grantSend(grantee: iam.IGrantable): iam.Grant {
    return this.identity.grant(grantee, 'ses:SendEmail');
  }
}
