import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** The namespace the handlers' Powertools Metrics (EMF) write to. */
export const METRICS_NAMESPACE = 'Chaperone';

export interface MonitoringProps {
  /** State machines by workflow name. */
  readonly stateMachines: Readonly<Record<string, sfn.IStateMachine>>;
  /** Functions by handler name (`agent-step`, …). */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** Where every alarm notifies (alarm and back to OK). */
  readonly alertTopic: sns.ITopic;
  /** Guardrail rejections in five minutes that raise the alarm. @default 1 */
  readonly guardrailRejectionThreshold?: number;
  /** Lambda errors (platform failures: tool errors are results, not errors) in five minutes that raise a function's alarm. @default 1 */
  readonly functionErrorThreshold?: number;
  /** Name of the dashboard. @default - generated */
  readonly dashboardName?: string;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * The dashboard and the alarms that ship with the stack. Run metrics are
 * read with SEARCH over the `Chaperone` namespace, so they show whatever
 * dimensions the handlers emit (`tool`, `rule`, `reason`, `service`, …);
 * the guardrail alarm sums every series with a Metrics Insights query.
 */
export class Monitoring extends Construct {
  /** The CloudWatch dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm, each notifying the alert topic. */
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const notify = new actions.SnsAction(props.alertTopic);
    const alarm = (alarmId: string, options: Omit<cloudwatch.AlarmProps, 'evaluationPeriods'>): void => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        evaluationPeriods: 1,
        ...options,
      });
      created.addAlarmAction(notify);
      created.addOkAction(notify);
      this.alarms.push(created);
    };

    for (const [name, machine] of Object.entries(props.stateMachines)) {
      alarm(`${name}Failed`, {
        metric: machine.metricFailed({ period: FIVE_MINUTES, statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription: `Runs of workflow ${name} failed (ExecutionsFailed): a stop reason or an unexpected error ended them.`,
      });
      alarm(`${name}TimedOut`, {
        metric: machine.metricTimedOut({ period: FIVE_MINUTES, statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription: `Runs of workflow ${name} hit the execution TimeoutSeconds backstop (ExecutionsTimedOut).`,
      });
    }
    for (const [name, fn] of Object.entries(props.functions)) {
      alarm(`${pascal(name)}Errors`, {
        metric: fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
        threshold: props.functionErrorThreshold ?? 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription: `The ${name} function failed (Lambda Errors).`,
      });
    }
    const guardrails = new cloudwatch.MathExpression({
      expression: `SELECT SUM(GuardrailRejections) FROM ${METRICS_NAMESPACE}`,
      period: FIVE_MINUTES,
      label: 'Guardrail rejections',
    });
    alarm('GuardrailRejections', {
      metric: guardrails,
      threshold: props.guardrailRejectionThreshold ?? 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription: 'A guardrail rejected input or a tool call (GuardrailRejections, all rules).',
    });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(1),
    });
    const search = (metricName: string, stat: string, label: string): cloudwatch.MathExpression =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('Namespace="${METRICS_NAMESPACE}" MetricName="${metricName}"', '${stat}', 300)`,
        label,
        period: FIVE_MINUTES,
      });
    const graph = (title: string, left: cloudwatch.IMetric[], width = 8): cloudwatch.GraphWidget =>
      new cloudwatch.GraphWidget({ title, left, width, height: 6 });

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# Chaperone\nRun, tool and guardrail metrics from namespace \`${METRICS_NAMESPACE}\` (Powertools EMF); executions and functions below.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('Tokens per run (RunTokens)', [search('RunTokens', 'Sum', 'tokens')]),
      graph('Cost per run, USD (RunCostUsd)', [search('RunCostUsd', 'Sum', 'USD')]),
      graph('Steps per run (RunSteps)', [search('RunSteps', 'Average', 'steps')]),
    );
    this.dashboard.addWidgets(
      graph('Tool calls by tool (ToolCalls)', [search('ToolCalls', 'Sum', 'calls')]),
      graph('Tool call failures by tool (ToolCallFailures)', [search('ToolCallFailures', 'Sum', 'failures')]),
      graph('Guardrail rejections by rule (GuardrailRejections)', [
        search('GuardrailRejections', 'Sum', 'rejections'),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Runs stopped by reason (RunsStopped)', [search('RunsStopped', 'Sum', 'stopped')]),
      graph(
        'Executions',
        Object.entries(props.stateMachines).flatMap(([name, machine]) => [
          machine.metricStarted({ label: `${name} started`, period: FIVE_MINUTES }),
          machine.metricSucceeded({ label: `${name} succeeded`, period: FIVE_MINUTES }),
          machine.metricFailed({ label: `${name} failed`, period: FIVE_MINUTES }),
          machine.metricTimedOut({ label: `${name} timed out`, period: FIVE_MINUTES }),
        ]),
      ),
      graph(
        'Function errors',
        Object.entries(props.functions).map(([name, fn]) =>
          fn.metricErrors({ label: name, period: FIVE_MINUTES }),
        ),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'Function duration p90',
        Object.entries(props.functions).map(([name, fn]) =>
          fn.metricDuration({ label: name, statistic: 'p90', period: FIVE_MINUTES }),
        ),
        12,
      ),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 12, height: 6 }),
    );
  }
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, _dash: string, c: string) => c.toUpperCase());
}
