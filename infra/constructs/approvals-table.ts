import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge } from '../acknowledge.js';
import { ChaperoneTable, type ChaperoneTableProps } from './chaperone-table.js';

/** The index that lists approvals by status, newest last (`GET /approvals?status=pending`). */
export const APPROVALS_BY_STATUS_INDEX = 'byStatus';

/**
 * The Approvals table: `APPROVAL#id` → task token (server-side only), run,
 * action, status, expiry, decided by; GSI `byStatus` (`status`, `createdAt`).
 */
export class ApprovalsTable extends ChaperoneTable {
  constructor(scope: Construct, id: string, props: ChaperoneTableProps = {}) {
    super(scope, id, {
      role: 'approvals',
      sortKey: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: APPROVALS_BY_STATUS_INDEX,
      partitionKey: { name: 'status', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'createdAt', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }

  /** Prepare approval records (the agent step writes what the approver will see); no reads. */
  public grantPrepare(grantee: iam.IGrantable): iam.Grant {
    const grant = this.table.grantWriteData(grantee);
    this.acknowledgeIndex(grantee);
    return grant;
  }

  /**
   * Check the approval of a gated call before it runs, mark a bypassed gate,
   * and open the approval that asks about an unknown outcome: single items
   * only, no listing, no deletes (the tool step).
   */
  public grantCheck(grantee: iam.IGrantable): iam.Grant {
    // The table alone: CDK's table grant would add its indexes, which this reader never queries.
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      resourceArns: [this.table.tableArn],
    });
    this.table.encryptionKey?.grantEncryptDecrypt(grantee);
    return grant;
  }

  /** Read, list by status and decide approvals (conditional update from `pending`). */
  public grantReview(grantee: iam.IGrantable): iam.Grant {
    const grant = this.table.grantReadWriteData(grantee);
    this.acknowledgeIndex(grantee);
    return grant;
  }

  /** DynamoDB table grants cover the table's indexes as `<table arn>/index/*`. */
  private acknowledgeIndex(grantee: iam.IGrantable): void {
    if (!Construct.isConstruct(grantee.grantPrincipal)) return;
    const logicalId = Stack.of(this).getLogicalId(this.table.node.defaultChild as dynamodb.CfnTable);
    acknowledge(
      grantee.grantPrincipal,
      `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/index/*]`,
      "The Approvals table's own indexes (byStatus) as CDK's table grant scopes them; no other table.",
    );
  }
}
