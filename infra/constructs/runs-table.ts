import { RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { ChaperoneTable, type ChaperoneTableProps } from './chaperone-table.js';

/**
 * The Runs table, single-table: `RUN#id / META` (status, workflow, totals),
 * `RUN#id / EVT#seq` (the trail), `RUN#id / MSG#agent#seq` (conversation),
 * `RUN#id / LEDGER` (the budget, reserved and settled with conditional updates).
 */
export class RunsTable extends ChaperoneTable {
  constructor(scope: Construct, id: string, props: ChaperoneTableProps = {}) {
    super(scope, id, {
      role: 'runs',
      sortKey: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** Read a run: its record, trail and conversation. */
  public grantRunRead(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadData(grantee);
  }

  /** Read and write a run: create it, append to its trail, reserve and settle its ledger. */
  public grantRunWrite(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadWriteData(grantee);
  }
}
