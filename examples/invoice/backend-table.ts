import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { TABLE_METADATA_KEY } from 'chaperone/cdk';
import { Construct } from 'constructs';

/** Props of {@link ExampleBackendTable}. */
export interface ExampleBackendTableProps {
  /** What happens to the table when the stack is deleted. @default RemovalPolicy.DESTROY (demo data, reseeded on first use) */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The invoice example's accounts-payable backend (`examples/invoice/backend.ts`):
 * `INVOICE#id`, `VENDOR#id` and `PAYMENT#<idempotency key>` items under
 * `pk`/`sk`. It is the application's system, not Chaperone's: only the tool
 * step, where the example's tools run, may read and write it. Same settings
 * as Chaperone's own tables: on-demand, point-in-time recovery, encrypted at
 * rest with the AWS-owned key.
 */
export class ExampleBackendTable extends Construct {
  /** The DynamoDB table. */
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: ExampleBackendTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.DEFAULT,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
    (this.table.node.defaultChild as dynamodb.CfnTable).addMetadata(TABLE_METADATA_KEY, 'invoice-backend');
  }

  /** The table's name (`INVOICE_BACKEND_TABLE` of the tool step). */
  public get tableName(): string {
    return this.table.tableName;
  }

  /** Read invoices and vendors, create payments (the example's tools, in the tool step). */
  public grantTools(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadWriteData(grantee);
  }
}
