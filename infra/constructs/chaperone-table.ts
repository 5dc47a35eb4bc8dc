import type { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/** CloudFormation metadata key on each table: `runs` | `approvals` | `breakers` | `memory`. */
export const TABLE_METADATA_KEY = 'chaperone:table';

/** The tables' names in `chaperone:table` metadata; the local runtime creates its tables from them. */
export type TableRole = 'runs' | 'approvals' | 'breakers' | 'memory';

/** Props every Chaperone table accepts. */
export interface ChaperoneTableProps {
  /** What happens to the table (and its data) when the stack is deleted. @default - per table: RETAIN for runs and approvals, DESTROY for breakers */
  readonly removalPolicy?: RemovalPolicy;
}

/** Shape of one table, fixed by its subclass. */
export interface TableShape {
  readonly role: TableRole;
  /** Whether the table has a sort key `sk` (S). */
  readonly sortKey: boolean;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * A DynamoDB table with the settings every Chaperone table shares: on-demand,
 * point-in-time recovery, AWS-owned encryption, TTL on `expiresAt`, partition
 * key `pk` (S). Subclasses add keys and indexes, and grant by intent.
 */
export abstract class ChaperoneTable extends Construct {
  /** The DynamoDB table. */
  public readonly table: dynamodb.Table;

  protected constructor(scope: Construct, id: string, shape: TableShape) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      ...(shape.sortKey ? { sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING } } : {}),
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      removalPolicy: shape.removalPolicy,
    });
    (this.table.node.defaultChild as dynamodb.CfnTable).addMetadata(TABLE_METADATA_KEY, shape.role);
  }

  /** The table's name (for the handlers' environment). */
  public get tableName(): string {
    return this.table.tableName;
  }
}
