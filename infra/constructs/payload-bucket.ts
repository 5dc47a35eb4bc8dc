import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from '../acknowledge.js';

/** CloudFormation metadata key on the bucket, so the local runtime knows its role. */
export const BUCKET_METADATA_KEY = 'chaperone:bucket';

/** Where run payloads live in the bucket: `runs/<runId>/…` (`lambdas/core/offload.ts`). */
const RUN_PREFIX = 'runs/';

/** Props of {@link PayloadBucket}. */
export interface PayloadBucketProps {
  /** How long an offloaded payload is kept. @default Duration.days(90), the trail's own horizon for audits */
  readonly retention?: Duration;
  /** What happens to the bucket when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The payload bucket: tool results and step outputs too large to keep inline
 * travel as references to objects here (`runs/<runId>/…`). Private (public
 * access blocked, bucket-owner objects only), encrypted (S3-managed keys),
 * TLS only, objects expire after `retention`. Grants by intent, on the run
 * prefix only: {@link grantWritePayloads} (PutObject) and
 * {@link grantReadPayloads} (GetObject); no list, no delete.
 */
export class PayloadBucket extends Construct {
  /** The S3 bucket (`PAYLOAD_BUCKET`). */
  public readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: PayloadBucketProps = {}) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ prefix: RUN_PREFIX, expiration: props.retention ?? Duration.days(90) }],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    (this.bucket.node.defaultChild as s3.CfnBucket).addMetadata(BUCKET_METADATA_KEY, 'payloads');
    acknowledge(
      this.bucket,
      'AwsSolutions-S1',
      'Only Chaperone functions write and read this bucket, by deterministic keys under runs/<runId>/ that the run trail records; CloudTrail data events can be enabled for audit without a second bucket for access logs.',
    );
  }

  /** The bucket's name (for the handlers' environment). */
  public get bucketName(): string {
    return this.bucket.bucketName;
  }

  /** Write run payloads: `s3:PutObject` on `runs/*` only. */
  public grantWritePayloads(grantee: iam.IGrantable): iam.Grant {
    return this.grantOnRuns(grantee, ['s3:PutObject']);
  }

  /** Read run payloads: `s3:GetObject` on `runs/*` only. */
  public grantReadPayloads(grantee: iam.IGrantable): iam.Grant {
    return this.grantOnRuns(grantee, ['s3:GetObject']);
  }

  private grantOnRuns(grantee: iam.IGrantable, actions: string[]): iam.Grant {
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.bucket.arnForObjects(`${RUN_PREFIX}*`)],
    });
    if (Construct.isConstruct(grantee.grantPrincipal)) {
      const logicalId = this.bucket.stack.getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
      acknowledge(
        grantee.grantPrincipal,
        `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${RUN_PREFIX}*]`,
        'Payload objects are keyed by run id and content digest, known only at run time; the grant is limited to the runs/ prefix and to the one action named.',
      );
    }
    return grant;
  }
}
