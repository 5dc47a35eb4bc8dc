import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';

/** The namespace the handlers' Powertools Metrics (EMF) write to. */
export const METRICS_NAMESPACE = 'Chaperone';
/**
 * The `service` dimension every handler's metrics carry (one value for all
 * handlers, so a metric's dimensions are known exactly and alarms can name
 * them; `lambdas/adapters/observability.ts` emits it). Each metric is also
 * emitted with `service` alone: the total over its other dimensions.
 */
export const METRICS_SERVICE = 'chaperone';

export interface MonitoringProps {
  /** State machines by workflow name. */
  readonly stateMachines: Readonly<Record<string, sfn.IStateMachine>>;
  /** Functions by handler name (`agent-step`, …). */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** The tools' names: each gets a success-rate widget line and alarm. @default [] */
  readonly tools?: readonly string[];
  /** Where every alarm notifies (alarm and back to OK). */
  readonly alertTopic: sns.ITopic;
  /** Lambda errors (platform failures: tool errors are results, not errors) in five minutes that raise a function's alarm. @default 1 */
  readonly functionErrorThreshold?: number;
  /** Runs failed for platform reasons (`RunsFailed`) in five minutes that raise the alarm. @default 1 */
  readonly runFailureThreshold?: number;
  /** A tool's success rate, in percent over five minutes, below which its alarm fires. @default 90 */
  readonly toolSuccessRateThreshold?: number;
  /** Calls of a tool in five minutes before its success rate can alarm (fewer say little). @default 5 */
  readonly toolSuccessMinCalls?: number;
  /** Guardrail rejections in percent of checked actions over five minutes that raise the spike alarm. @default 20 */
  readonly guardrailRejectionRateThreshold?: number;
  /** Guardrail rejections in five minutes before the rate can alarm. @default 5 */
  readonly guardrailRejectionMinCount?: number;
  /** Width of the cost-per-run anomaly band, in standard deviations. @default 3 */
  readonly costAnomalyStdDevs?: number;
  /** Name of the dashboard. @default - generated */
  readonly dashboardName?: string;
}

const FIVE_MINUTES = Duration.minutes(5);
const PERCENTILES = ['p50', 'p90', 'p99'] as const;

/** A metric of the `Chaperone` namespace with exactly these dimensions (besides `service`). */
export function chaperoneMetric(
  metricName: string,
  dimensions: Record<string, string> = {},
  options: { statistic?: string; label?: string } = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: METRICS_SERVICE, ...dimensions },
    statistic: options.statistic ?? 'Sum',
    period: FIVE_MINUTES,
    ...(options.label ? { label: options.label } : {}),
  });
}

/**
 * The dashboard and the alarms that ship with the stack, built so that an
 * alarm means a human is needed:
 *
 * - **platform failures**: runs that failed for a platform reason
 *   (`RunsFailed`, emitted by the finish task for the `failed` outcome only),
 *   the execution `TimeoutSeconds` backstop, and each function's Lambda errors;
 * - **a tool's success rate** (metric math over `ToolCalls` and
 *   `ToolCallFailures`) below a threshold;
 * - **a spike of guardrail rejections**: rejections as a share of checked
 *   actions (model calls, tool calls and the rejections);
 * - **cost per run far above its usual**: an anomaly band on p90 of `RunCostUsd`.
 *
 * Designed stops (budget, steps, time, policy, loop, breaker, a human's
 * rejection) end in Fail states too, so `ExecutionsFailed` counts them; no
 * alarm reads it. They have their own metric, `RunsStopped` by `reason`, on
 * the dashboard.
 */
export class Monitoring extends Construct {
  /** The CloudWatch dashboard. */
  public readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm, each notifying the alert topic. */
  public readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const notify = new actions.SnsAction(props.alertTopic);
    const track = (created: cloudwatch.Alarm): void => {
      created.addAlarmAction(notify);
      created.addOkAction(notify);
      this.alarms.push(created);
    };
    const alarm = (alarmId: string, options: Omit<cloudwatch.AlarmProps, 'evaluationPeriods'>): void =>
      track(
        new cloudwatch.Alarm(this, alarmId, {
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          evaluationPeriods: 1,
          ...options,
        }),
      );
    const tools = [...(props.tools ?? [])].sort();

    // ---- platform failures
    alarm('RunsFailed', {
      metric: chaperoneMetric('RunsFailed', {}, { label: 'runs failed (platform)' }),
      threshold: props.runFailureThreshold ?? 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription:
        'Runs failed for a platform reason (RunsFailed): an error no retry cured ended them. Designed stops (budget, policy, loop, rejection…) are not counted here; see RunsStopped by reason.',
    });
    for (const [name, machine] of Object.entries(props.stateMachines)) {
      alarm(`${name}TimedOut`, {
        metric: machine.metricTimedOut({ period: FIVE_MINUTES, statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        alarmDescription: `Runs of workflow ${name} hit the execution TimeoutSeconds backstop (ExecutionsTimedOut): the run's own time limit should have stopped them first.`,
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

    // ---- tool success rate by tool (metric math)
    const minCalls = props.toolSuccessMinCalls ?? 5;
    // Ids are per tool (`calls0`, `failures0`, …): the widget draws every tool's expression at once.
    const successRate = (tool: string, forAlarm: boolean): cloudwatch.MathExpression => {
      const i = tools.indexOf(tool);
      const [calls, failures] = [`calls${i}`, `failures${i}`];
      const rate = `100 * (${calls} - FILL(${failures}, 0)) / ${calls}`;
      return new cloudwatch.MathExpression({
        expression: forAlarm ? `IF(${calls} >= ${minCalls}, ${rate}, 100)` : rate,
        usingMetrics: {
          [calls]: chaperoneMetric('ToolCalls', { tool }),
          [failures]: chaperoneMetric('ToolCallFailures', { tool }),
        },
        label: tool,
        period: FIVE_MINUTES,
      });
    };
    for (const tool of tools) {
      alarm(`ToolSuccessRate${pascal(tool.replace(/_/g, '-'))}`, {
        metric: successRate(tool, true),
        threshold: props.toolSuccessRateThreshold ?? 90,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        alarmDescription: `Tool ${tool} succeeded in fewer than ${props.toolSuccessRateThreshold ?? 90}% of its calls over five minutes (at least ${minCalls} calls).`,
      });
    }

    // ---- guardrail rejection rate
    const checked = {
      rejections: chaperoneMetric('GuardrailRejections'),
      models: chaperoneMetric('ModelCalls'),
      toolCalls: chaperoneMetric('ToolCalls'),
    };
    const checkedActions = '(FILL(models, 0) + FILL(toolCalls, 0) + rejections)';
    const minRejections = props.guardrailRejectionMinCount ?? 5;
    alarm('GuardrailRejectionSpike', {
      metric: new cloudwatch.MathExpression({
        expression: `IF(rejections >= ${minRejections}, 100 * rejections / ${checkedActions}, 0)`,
        usingMetrics: checked,
        label: 'guardrail rejection rate, %',
        period: FIVE_MINUTES,
      }),
      threshold: props.guardrailRejectionRateThreshold ?? 20,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      alarmDescription: `Guardrails rejected at least ${props.guardrailRejectionRateThreshold ?? 20}% of checked actions (model calls, tool calls, run inputs) over five minutes, with at least ${minRejections} rejections.`,
    });

    // ---- cost per run far above its usual
    track(
      new cloudwatch.AnomalyDetectionAlarm(this, 'CostPerRunAnomaly', {
        metric: chaperoneMetric('RunCostUsd', {}, { statistic: 'p90', label: 'cost per run p90, USD' }),
        stdDevs: props.costAnomalyStdDevs ?? 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_UPPER_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: `Cost per run (p90 of RunCostUsd) rose above its usual band (${props.costAnomalyStdDevs ?? 3} standard deviations).`,
      }),
    );

    // ---- the dashboard
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(1),
    });
    const search = (metricName: string, stat: string, label: string): cloudwatch.MathExpression =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRICS_NAMESPACE},service,${dimensionOf(metricName)}} MetricName="${metricName}"', '${stat}', 300)`,
        label,
        period: FIVE_MINUTES,
      });
    const graph = (title: string, left: cloudwatch.IMetric[], width = 8): cloudwatch.GraphWidget =>
      new cloudwatch.GraphWidget({ title, left, width, height: 6 });
    const percentiles = (metricName: string) =>
      PERCENTILES.map((p) => chaperoneMetric(metricName, {}, { statistic: p, label: p }));

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# Chaperone\nRun, tool and guardrail metrics from namespace \`${METRICS_NAMESPACE}\` (Powertools EMF). Alarms fire on platform failures, tool success rates, guardrail rejection spikes and unusual cost; designed stops (budget, policy, loop, rejection) are counted under *Runs stopped by reason* and raise none.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      graph('Cost per run, USD (p50 / p90 / p99)', percentiles('RunCostUsd')),
      graph('Steps per run (p50 / p90 / p99)', percentiles('RunSteps')),
      graph('Tokens per run (p50 / p90 / p99)', percentiles('RunTokens')),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Tool success rate by tool, %',
        left: tools.map((t) => successRate(t, false)),
        leftYAxis: { min: 0, max: 100 },
        width: 12,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'Guardrail rejection rate, % of checked actions',
        left: [
          new cloudwatch.MathExpression({
            expression: `100 * rejections / ${checkedActions}`,
            usingMetrics: checked,
            label: 'all rules',
            period: FIVE_MINUTES,
          }),
          new cloudwatch.MathExpression({
            expression: `100 * SEARCH('{${METRICS_NAMESPACE},rule,service} MetricName="GuardrailRejections"', 'Sum', 300) / ${checkedActions}`,
            usingMetrics: checked,
            label: 'by rule',
            period: FIVE_MINUTES,
          }),
        ],
        leftYAxis: { min: 0 },
        width: 12,
        height: 6,
      }),
    );
    this.dashboard.addWidgets(
      graph('Runs stopped by reason (designed stops)', [search('RunsStopped', 'Sum', 'stopped')]),
      graph('Runs failed (platform), by error', [search('RunsFailed', 'Sum', 'failed')]),
      graph(
        'Executions',
        Object.entries(props.stateMachines).flatMap(([name, machine]) => [
          machine.metricStarted({ label: `${name} started`, period: FIVE_MINUTES }),
          machine.metricSucceeded({ label: `${name} succeeded`, period: FIVE_MINUTES }),
          machine.metricFailed({ label: `${name} failed or stopped`, period: FIVE_MINUTES }),
          machine.metricTimedOut({ label: `${name} timed out`, period: FIVE_MINUTES }),
        ]),
      ),
    );
    this.dashboard.addWidgets(
      graph('Tool calls by tool (ToolCalls)', [search('ToolCalls', 'Sum', 'calls')]),
      graph('Tool call failures by tool (ToolCallFailures)', [search('ToolCallFailures', 'Sum', 'failures')]),
      graph('Guardrail rejections by rule (GuardrailRejections)', [
        search('GuardrailRejections', 'Sum', 'rejections'),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Function errors',
        Object.entries(props.functions).map(([name, fn]) =>
          fn.metricErrors({ label: name, period: FIVE_MINUTES }),
        ),
      ),
      graph(
        'Function duration p90',
        Object.entries(props.functions).map(([name, fn]) =>
          fn.metricDuration({ label: name, statistic: 'p90', period: FIVE_MINUTES }),
        ),
      ),
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 8, height: 6 }),
    );
  }
}

/** The dimension (besides `service`) a metric is broken down by on the dashboard. */
function dimensionOf(metricName: string): string {
  switch (metricName) {
    case 'ToolCalls':
    case 'ToolCallFailures':
      return 'tool';
    case 'GuardrailRejections':
      return 'rule';
    case 'RunsStopped':
      return 'reason';
    case 'RunsFailed':
      return 'error';
    default:
      return 'workflow';
  }
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, _dash: string, c: string) => c.toUpperCase());
}
