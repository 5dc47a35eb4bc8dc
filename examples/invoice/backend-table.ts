import { marshall } from '@aws-sdk/util-dynamodb';
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as cr from 'aws-cdk-lib/custom-resources';
import { acknowledge, TABLE_METADATA_KEY } from 'chaperone/cdk';
import { Construct } from 'constructs';
import { SEED_INVOICES, SEED_VENDORS } from './backend-seed.js';

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

  /**
   * Put the demo's invoices and vendors in the table when the stack is
   * created (a custom resource calling BatchWriteItem), so the read tools
   * find them without any write permission of their own. Locally the backend
   * seeds itself on first use instead.
   */
  public seedAtDeploy(): void {
    const items = [
      ...SEED_VENDORS.map((v) => ({ pk: `VENDOR#${v.vendorId}`, sk: 'META', ...v })),
      ...SEED_INVOICES.map((i) => ({ pk: `INVOICE#${i.invoiceId}`, sk: 'META', ...i })),
    ];
    const call = {
      service: 'DynamoDB',
      action: 'batchWriteItem',
      parameters: {
        RequestItems: {
          [this.table.tableName]: items.map((item) => ({
            PutRequest: { Item: marshall(item, { removeUndefinedValues: true }) },
          })),
        },
      },
      physicalResourceId: cr.PhysicalResourceId.of(`seed-${this.node.addr}`),
    };
    const seed = new cr.AwsCustomResource(this, 'Seed', {
      onCreate: call,
      onUpdate: call,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['dynamodb:BatchWriteItem'], resources: [this.table.tableArn] }),
      ]),
      installLatestAwsSdk: false,
    });
    const stack = Stack.of(this);
    for (const child of stack.node.findAll()) {
      if (!child.node.path.includes('AWS679f53fac002430cb0da5b7982bd2287')) continue;
      acknowledge(
        child,
        'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        "CDK's AwsCustomResource provider function (the example's deploy-time seed) logs with the basic execution role; it runs once, at create and update.",
      );
      acknowledge(
        child,
        'AwsSolutions-L1',
        "CDK's AwsCustomResource provider function picks its own Node.js runtime; it only seeds the example's demo data at deploy.",
      );
    }
    seed.node.addDependency(this.table);
  }

  /** Read invoices, vendors and payments (the read tools). */
  public grantRead(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadData(grantee);
  }

  /** Read, and create payments or void invoices (the write and destructive tools). */
  public grantReadWrite(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadWriteData(grantee);
  }
}
