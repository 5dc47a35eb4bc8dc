import { basename } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { backend } from '../../../examples/invoice/backend.js';
import { invoiceWorkflow } from '../../../examples/invoice/workflow.js';
import {
  scenario,
  status,
  text,
  toolUse,
  withFaults,
  withUsage,
} from '../../../local/scripted-model/index.js';
import { type CfnResource, synthChaperone } from '../../infra/synth.js';
import { AgentHarness } from '../../support/agent-harness.js';
import { type AlarmVerdict, type EmfValue, emfValues, evaluateAlarms } from '../../support/alarm-eval.js';

const WORKFLOW = 'invoice-reconciliation';
const ARN = (fn: string) => `arn:aws:lambda:us-east-1:000000000000:function:${fn}`;

let h: AgentHarness;
let resources: Record<string, CfnResource>;
let printed: string[] = [];

beforeAll(async () => {
  resources = synthChaperone({ validate: false }).resources;
  // Metrics on (CHAPERONE_LOG_LEVEL turns the local runtime's quiet mode off), logs silent: the
  // handlers print their EMF documents on stdout, exactly what CloudWatch reads from Lambda's logs.
  h = await AgentHarness.start([invoiceWorkflow], {
    CHAPERONE_LOG_LEVEL: 'SILENT',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
});
afterAll(async () => {
  await h?.close();
});
beforeEach(async () => {
  await backend.reset();
  printed = [];
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: unknown, ...rest: unknown[]) => {
    const s = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    if (s.includes('"_aws"')) {
      printed.push(...s.split('\n').filter((l) => l.trim() !== ''));
      return true;
    }
    return write(chunk as string, ...(rest as []));
  });
});
afterEach(() => {
  vi.mocked(process.stdout.write).mockRestore();
});

/**
 * The AWS-namespace figures of one run, as CloudWatch would count them: Lambda
 * `Errors` per function (its failed invocations in the execution history),
 * Step Functions `ExecutionsTimedOut`.
 */
function awsFigures(executionArn: string) {
  const events = h.sfn.getExecutionHistory({ executionArn }).events;
  const byId = new Map(events.map((e) => [e.id, e]));
  const failures = new Map<string, number>();
  for (const e of events) {
    // A function error fails the Task (`lambda:invoke` integration) or the Lambda state (function ARN).
    if (e.type !== 'TaskFailed' && e.type !== 'LambdaFunctionFailed') continue;
    let at = byId.get(e.previousEventId);
    while (at && at.type !== 'TaskScheduled' && at.type !== 'LambdaFunctionScheduled')
      at = byId.get(at.previousEventId);
    const params = at?.taskScheduledEventDetails?.parameters;
    const resource = params
      ? String((JSON.parse(params) as { FunctionName?: unknown }).FunctionName)
      : (at?.lambdaFunctionScheduledEventDetails?.resource ?? '');
    failures.set(resource, (failures.get(resource) ?? 0) + 1);
  }
  const status = h.sfn.describeExecution({ executionArn }).status;
  const timedOut = status === 'TIMED_OUT' ? 1 : 0;
  return (m: { namespace: string; name: string; dimensions: Record<string, string> }): number[] => {
    if (m.namespace === 'AWS/States' && m.name === 'ExecutionsTimedOut') return [timedOut];
    // What the seed's alarm read: every designed stop ends in a Fail state, so it counts them too.
    if (m.namespace === 'AWS/States' && m.name === 'ExecutionsFailed') return [status === 'FAILED' ? 1 : 0];
    if (m.namespace === 'AWS/Lambda' && m.name === 'Errors') {
      // The alarm names the function by logical id; its `chaperone:handler` says which handler it runs.
      const handler = resources[m.dimensions.FunctionName ?? '']?.Metadata?.['chaperone:handler'];
      const name = basename(String(handler)).replace(/\.m?ts$/, '');
      const harnessName = name.replace(/-([a-z])/g, (_s, c: string) => c.toUpperCase());
      return [failures.get(ARN(harnessName)) ?? 0];
    }
    throw new Error(`the test has no figure for ${m.namespace} ${m.name}`);
  };
}

async function runAndEvaluate(): Promise<{
  status?: string;
  error?: string;
  emf: EmfValue[];
  aws: ReturnType<typeof awsFigures>;
  verdicts: AlarmVerdict[];
}> {
  const { execution, runId } = await h.run(WORKFLOW, { invoiceId: 'INV-000101' });
  const emf = emfValues(printed);
  const executionArn = `arn:aws:states:us-east-1:000000000000:execution:${WORKFLOW}:${runId}`;
  const aws = awsFigures(executionArn);
  return { ...execution, emf, aws, verdicts: evaluateAlarms(resources, emf, aws) };
}

const firing = (verdicts: AlarmVerdict[]) => verdicts.filter((v) => v.state === 'ALARM').map((v) => v.id);
const emitted = (emf: EmfValue[], name: string) =>
  emf.filter((v) => v.name === name).map((v) => ({ dimensions: v.dimensions, value: v.value }));

describe("the stack's alarms, evaluated on what a run emits", () => {
  it('a budget stop ends the execution in a Fail state, emits RunsStopped by reason, and raises no alarm', async () => {
    h.model.use(
      scenario('budget stop', [
        withUsage(toolUse('lookup_invoice', { invoice_id: 'INV-000101' }), { inputTokens: 59_500 }),
        text('never reached: the next call cannot be reserved'),
      ]),
    );

    const run = await runAndEvaluate();

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('BudgetExceeded');
    expect(emitted(run.emf, 'RunsStopped')).toEqual([
      { dimensions: { service: 'chaperone', reason: 'BudgetExceeded' }, value: 1 },
      { dimensions: { service: 'chaperone' }, value: 1 },
    ]);
    expect(emitted(run.emf, 'RunsFailed')).toEqual([]);
    // The cost by billed service keeps the service dimension every alarm reads.
    const byService = emitted(run.emf, 'RunServiceCostUsd').filter((v) => 'billedService' in v.dimensions);
    expect(byService.map((v) => v.dimensions.billedService).sort()).toEqual(
      expect.arrayContaining(['dynamodb', 'lambda', 'model', 'stepFunctions']),
    );
    for (const v of byService) expect(v.dimensions.service).toBe('chaperone');
    expect(emitted(run.emf, 'GuardrailRejections')).toContainEqual({
      dimensions: { service: 'chaperone', rule: 'budget_tokens' },
      value: 1,
    });
    expect(firing(run.verdicts)).toEqual([]);
    // Every alarm was evaluated except the learned cost band.
    expect(run.verdicts.filter((v) => v.state === 'NOT_EVALUABLE').map((v) => v.id)).toEqual([
      expect.stringMatching(/^AgentsMonitoringCostPerRunAnomaly/),
    ]);
    expect(run.verdicts.length).toBeGreaterThan(10);
    // The seed's `ExecutionsFailed ≥ 1` alarm, evaluated on the same figures, would have fired.
    const seedAlarm = evaluateAlarms(
      {
        SeedExecutionsFailed: {
          Type: 'AWS::CloudWatch::Alarm',
          Properties: {
            Namespace: 'AWS/States',
            MetricName: 'ExecutionsFailed',
            Dimensions: [{ Name: 'StateMachineArn', Value: 'the workflow' }],
            Statistic: 'Sum',
            Threshold: 1,
            ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          },
        },
      },
      run.emf,
      run.aws,
    );
    expect(seedAlarm.map((v) => v.state)).toEqual(['ALARM']);
  });

  it('an injected platform failure (the model API refuses the request: ModelRequestError) raises RunsFailed and the agent step’s errors alarm', async () => {
    h.model.use(
      scenario('platform failure', [
        withFaults(text('never served'), status(400, { message: 'malformed request' })),
      ]),
    );

    const run = await runAndEvaluate();

    expect(run.status).toBe('FAILED');
    expect(run.error).toBe('RunFailed');
    expect(emitted(run.emf, 'RunsFailed')).toEqual([
      { dimensions: { service: 'chaperone', error: 'ModelRequestError' }, value: 1 },
      { dimensions: { service: 'chaperone' }, value: 1 },
    ]);
    expect(emitted(run.emf, 'RunsStopped')).toEqual([]);
    expect(firing(run.verdicts).sort()).toEqual([
      expect.stringMatching(/^AgentsMonitoringAgentStepErrors/),
      expect.stringMatching(/^AgentsMonitoringRunsFailed/),
    ]);
    const runsFailed = run.verdicts.find((v) => v.id.startsWith('AgentsMonitoringRunsFailed'));
    expect(runsFailed).toMatchObject({ value: 1, threshold: 1 });
  });

  it('tool failures past the threshold raise that tool’s success-rate alarm, and only it', async () => {
    // Six lookups of an invoice that does not exist: each a failed call of lookup_invoice (a tool error, not a platform one).
    h.model.use(
      scenario('failing tool', [
        ...Array.from({ length: 6 }, (_, i) => toolUse('lookup_invoice', { invoice_id: `INV-99999${i}` })),
        text('The invoice could not be found.'),
      ]),
    );

    const run = await runAndEvaluate();

    const lookups = emitted(run.emf, 'ToolCalls').filter((v) => v.dimensions.tool === 'lookup_invoice');
    const failed = emitted(run.emf, 'ToolCallFailures').filter((v) => v.dimensions.tool === 'lookup_invoice');
    expect(lookups.length).toBe(6);
    expect(failed.length).toBe(6);
    expect(run.status).toBe('SUCCEEDED');
    expect(firing(run.verdicts)).toEqual([
      expect.stringMatching(/^AgentsMonitoringToolSuccessRateLookupInvoice/),
    ]);
    const rate = run.verdicts.find((v) => v.id.startsWith('AgentsMonitoringToolSuccessRateLookupInvoice'));
    expect(rate).toMatchObject({ value: 0, threshold: 90 });
  });

  it('the rejection-spike alarm reads the rate over checked actions, and needs at least five rejections', () => {
    // Five minutes of EMF as the handlers print it (service alone: the totals the alarm reads).
    const period = (rejections: number, models: number, toolCalls: number): EmfValue[] =>
      (
        [
          ['GuardrailRejections', rejections],
          ['ModelCalls', models],
          ['ToolCalls', toolCalls],
        ] as const
      ).flatMap(([name, n]) =>
        Array.from({ length: n }, () => ({
          namespace: 'Chaperone',
          name,
          dimensions: { service: 'chaperone' },
          value: 1,
        })),
      );
    const spike = (emf: EmfValue[]) =>
      evaluateAlarms(resources, emf, () => [0]).find((v) =>
        v.id.startsWith('AgentsMonitoringGuardrailRejectionSpike'),
      );

    // 6 of 6 + 10 + 10 checked actions = 23%: a spike.
    expect(spike(period(6, 10, 10))).toMatchObject({ state: 'ALARM', threshold: 20 });
    expect(spike(period(6, 10, 10))?.value).toBeCloseTo(23.08, 2);
    // 4 of 4 + 2 + 0 = 67%, but four rejections say little.
    expect(spike(period(4, 2, 0))).toMatchObject({ state: 'OK', value: 0 });
    // 6 of 6 + 40 + 30 = 8%: under the threshold.
    expect(spike(period(6, 40, 30))?.state).toBe('OK');
  });
});
