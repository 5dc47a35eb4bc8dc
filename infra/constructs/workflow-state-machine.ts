import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { compileWorkflow, type Workflow } from '../../state-machines/index.js';
import { acknowledge } from '../acknowledge.js';

/** CloudFormation metadata key on each state machine: the workflow's name. */
export const WORKFLOW_METADATA_KEY = 'chaperone:workflow';

/** The five functions a compiled workflow invokes. */
export interface WorkflowFunctions {
  readonly agentStep: lambda.IFunction;
  readonly toolStep: lambda.IFunction;
  readonly codeStep: lambda.IFunction;
  readonly finish: lambda.IFunction;
  readonly approvalRequest: lambda.IFunction;
}

export interface WorkflowStateMachineProps {
  /** The workflow to compile. */
  readonly workflow: Workflow;
  /** The functions its tasks invoke. */
  readonly functions: WorkflowFunctions;
  /** Retention of the execution log group. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What happens to the execution log group when the stack is deleted. Its
   * name is fixed (the `/aws/vendedlogs/` prefix keeps CloudWatch Logs'
   * resource policy small), so a retained group would block redeploying the
   * stack; the run trail itself lives in the retained Runs table.
   * @default RemovalPolicy.DESTROY
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * One Standard state machine for one workflow, its definition compiled by
 * `compileWorkflow` (JSONata, its own `TimeoutSeconds`). Tracing is on;
 * logging is errors only and without execution data, so task tokens and
 * arguments never reach a log line.
 */
export class WorkflowStateMachine extends Construct {
  /** The state machine. */
  public readonly stateMachine: sfn.StateMachine;
  /** Its execution log group (errors only, no execution data). */
  public readonly logGroup: logs.LogGroup;
  /** The workflow's name (the API's `workflow` field). */
  public readonly workflowName: string;
  /** The state machine's fixed name: `<stack name>-<workflow name>`. */
  public readonly stateMachineName: string;

  constructor(scope: Construct, id: string, props: WorkflowStateMachineProps) {
    super(scope, id);
    const { workflow, functions } = props;
    this.workflowName = workflow.name;
    this.stateMachineName = `${Stack.of(this).stackName}-${workflow.name}`;
    const asl = compileWorkflow(workflow, {
      agentStep: functions.agentStep.functionArn,
      toolStep: functions.toolStep.functionArn,
      codeStep: functions.codeStep.functionArn,
      finish: functions.finish.functionArn,
      approvalRequest: functions.approvalRequest.functionArn,
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      // Vended-log groups for Step Functions must start with /aws/vendedlogs/ to keep the resource policy small.
      logGroupName: `/aws/vendedlogs/states/chaperone-${workflow.name}-${Stack.of(this).stackName}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      // A fixed name keeps execution ARNs (and the API's grants on them) readable.
      stateMachineName: this.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(Stack.of(this).toJsonString(asl)),
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ERROR, includeExecutionData: false },
    });
    const cfn = this.stateMachine.node.defaultChild as sfn.CfnStateMachine;
    cfn.addMetadata(WORKFLOW_METADATA_KEY, workflow.name);

    for (const fn of Object.values(functions) as lambda.IFunction[]) fn.grantInvoke(this.stateMachine);

    acknowledge(
      this.stateMachine,
      'AwsSolutions-SF1',
      'Execution logging is ERROR level with includeExecutionData false on purpose: task tokens and tool arguments must never reach a log line; the run trail in DynamoDB records every step.',
    );
    const role = this.stateMachine.role.node.findChild('DefaultPolicy');
    acknowledge(
      role,
      'AwsSolutions-IAM5[Resource::*]',
      'X-Ray PutTraceSegments/GetSampling* and the CloudWatch Logs delivery actions (CreateLogDelivery, DescribeResourcePolicies, …) support no resource-level permissions.',
    );
    for (const [name, fn] of Object.entries(functions) as [string, lambda.IFunction][]) {
      const logicalId = Stack.of(this).getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
      acknowledge(
        role,
        `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
        `lambda:InvokeFunction on the ${name} function's versions and aliases (its ARN with :*), as grantInvoke scopes it; no other function.`,
      );
    }
  }

  /**
   * Answer this workflow's task tokens (`SendTaskSuccess`, `SendTaskFailure`,
   * `SendTaskHeartbeat`) and no other state machine's. The ARN is built from
   * the fixed name, so the grant does not make the grantee depend on the
   * state machine (whose definition names the grantee's function).
   */
  public grantTaskResponse(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
      resourceArns: [
        Stack.of(this).formatArn({
          service: 'states',
          resource: 'stateMachine',
          resourceName: this.stateMachineName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    });
  }

  /**
   * Read the history of this workflow's executions (`GetExecutionHistory`):
   * the finish task counts a run's state transitions from it.
   */
  public grantReadHistory(grantee: iam.IGrantable): void {
    const executions = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${this.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['states:GetExecutionHistory'],
      resourceArns: [executions],
    });
    if (Construct.isConstruct(grantee.grantPrincipal)) {
      acknowledge(
        grantee.grantPrincipal,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${this.stateMachineName}:*]`,
        `GetExecutionHistory on the executions of state machine ${this.stateMachineName} only, to count a run's state transitions: execution names are run ids, unknown in advance.`,
      );
    }
  }

  /**
   * Start runs of this workflow and read their status (not their history).
   * Returns the wildcard finding (`AwsSolutions-IAM5[...]`) the execution
   * grant raises on the grantee's policy, for the caller to acknowledge there.
   */
  public grantRun(grantee: iam.IGrantable): void {
    this.stateMachine.grantStartExecution(grantee);
    // Built from the fixed name rather than the state machine's attributes, so the grant
    // does not make the grantee's policy depend on the state machine resource.
    const executions = Stack.of(this).formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${this.stateMachineName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    // RedriveExecution: `POST /runs/{id}/redrive` resumes a run that failed for a platform reason.
    iam.Grant.addToPrincipal({
      grantee,
      actions: ['states:DescribeExecution', 'states:RedriveExecution'],
      resourceArns: [executions],
    });
    if (Construct.isConstruct(grantee.grantPrincipal)) {
      acknowledge(
        grantee.grantPrincipal,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${this.stateMachineName}:*]`,
        `DescribeExecution and RedriveExecution on the executions of state machine ${this.stateMachineName} only: execution names are run ids, unknown in advance.`,
      );
    }
  }
}
