import { RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { ChaperoneTable, type ChaperoneTableProps } from './chaperone-table.js';

/**
 * The Breakers table: per-tool circuit state (`TOOL#name`), shared by all
 * runs. Losing it only closes every breaker, so it is not retained by default.
 */
export class BreakersTable extends ChaperoneTable {
  constructor(scope: Construct, id: string, props: ChaperoneTableProps = {}) {
    super(scope, id, {
      role: 'breakers',
      sortKey: false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.DESTROY,
    });
  }

  /** Read circuit state (the agent step hides tools whose breaker is open). */
  public grantObserve(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadData(grantee);
  }

  /** Read and record failures and successes, opening and closing breakers (the tool step). */
  public grantTrip(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadWriteData(grantee);
  }
}
