import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Chaperone, newApp } from 'chaperone/cdk';
import { beforeAll, describe, expect, it } from 'vitest';
import { workflows } from '../../examples/index.js';
import { WORKFLOWS_MODULE } from '../../examples/invoice/app.js';
import { type CfnResource, ofType, type Synthesised, synthChaperone } from './synth.js';

let synth: Synthesised;
beforeAll(() => {
  synth = synthChaperone({ validate: false });
});

interface Widget {
  type: string;
  properties: { title?: string; metrics?: unknown[][]; markdown?: string };
}

/** The dashboard's widgets: the body's Fn::Join with every token (region, ids) as a placeholder. */
function widgets(): Widget[] {
  const [, dashboard] = ofType(synth.resources, 'AWS::CloudWatch::Dashboard')[0] ?? [];
  const body = dashboard?.Properties?.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const text = body['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  return (JSON.parse(text) as { widgets: Widget[] }).widgets;
}
const widget = (title: string): Widget => {
  const found = widgets().find((w) => w.properties.title === title);
  if (!found)
    throw new Error(
      `no widget "${title}"; there are: ${widgets()
        .map((w) => w.properties.title)
        .join(' | ')}`,
    );
  return found;
};
const alarms = (): Array<[string, Record<string, unknown>]> =>
  ofType(synth.resources, 'AWS::CloudWatch::Alarm').map(([id, a]: [string, CfnResource]) => [
    id,
    a.Properties ?? {},
  ]);
const alarm = (prefix: string): Record<string, unknown> => {
  const found = alarms().find(([id]) => id.startsWith(`AgentsMonitoring${prefix}`));
  if (!found) throw new Error(`no alarm ${prefix}`);
  return found[1];
};
type Query = {
  Id: string;
  Expression?: string;
  MetricStat?: { Metric: { MetricName: string; Dimensions: unknown[] }; Stat: string };
};
const TOOLS = ['find_vendor', 'find_vendor_cached', 'lookup_invoice', 'schedule_payment'];

describe('the dashboard', () => {
  it('draws each tool’s success rate with metric math over ToolCalls and ToolCallFailures', () => {
    const metrics = widget('Tool success rate by tool, %').properties.metrics ?? [];
    const expressions = metrics.filter(
      (m) => typeof (m[0] as { expression?: string }).expression === 'string',
    );
    const series = metrics.filter((m) => m[0] === 'Chaperone');

    expect(expressions.map((m) => (m[0] as { label: string }).label)).toEqual(TOOLS);
    expect(expressions.map((m) => (m[0] as { expression: string }).expression)).toEqual(
      TOOLS.map((_, i) => `100 * (calls${i} - FILL(failures${i}, 0)) / calls${i}`),
    );
    for (const [i, tool] of TOOLS.entries()) {
      expect(series).toContainEqual([
        'Chaperone',
        'ToolCalls',
        'service',
        'chaperone',
        'tool',
        tool,
        { stat: 'Sum', visible: false, id: `calls${i}` },
      ]);
      expect(series).toContainEqual([
        'Chaperone',
        'ToolCallFailures',
        'service',
        'chaperone',
        'tool',
        tool,
        { stat: 'Sum', visible: false, id: `failures${i}` },
      ]);
    }
  });

  it('shows cost, steps and tokens per run as p50, p90 and p99', () => {
    for (const [title, metric] of [
      ['Cost per run, USD (p50 / p90 / p99)', 'RunCostUsd'],
      ['Steps per run (p50 / p90 / p99)', 'RunSteps'],
      ['Tokens per run (p50 / p90 / p99)', 'RunTokens'],
    ] as const) {
      expect(widget(title).properties.metrics).toEqual(
        ['p50', 'p90', 'p99'].map((p) => [
          'Chaperone',
          metric,
          'service',
          'chaperone',
          { label: p, stat: p },
        ]),
      );
    }
  });

  it('shows the guardrail rejection rate over checked actions, in total and by rule', () => {
    const metrics = widget('Guardrail rejection rate, % of checked actions').properties.metrics ?? [];
    const expressions = metrics.map((m) => (m[0] as { expression?: string }).expression).filter(Boolean);

    expect(expressions).toEqual([
      '100 * rejections / (FILL(models, 0) + FILL(toolCalls, 0) + rejections)',
      `100 * SEARCH('{Chaperone,rule,service} MetricName="GuardrailRejections"', 'Sum', 300) / (FILL(models, 0) + FILL(toolCalls, 0) + rejections)`,
    ]);
    expect(metrics).toContainEqual([
      'Chaperone',
      'GuardrailRejections',
      'service',
      'chaperone',
      { stat: 'Sum', visible: false, id: 'rejections' },
    ]);
    expect(metrics).toContainEqual([
      'Chaperone',
      'ModelCalls',
      'service',
      'chaperone',
      { stat: 'Sum', visible: false, id: 'models' },
    ]);
  });

  it('counts designed stops by reason and platform failures by error, apart', () => {
    const stopped = JSON.stringify(widget('Runs stopped by reason (designed stops)').properties.metrics);
    const failed = JSON.stringify(widget('Runs failed (platform), by error').properties.metrics);

    expect(stopped).toContain(
      `SEARCH('{Chaperone,service,reason} MetricName=\\"RunsStopped\\"', 'Sum', 300)`,
    );
    expect(failed).toContain(`SEARCH('{Chaperone,service,error} MetricName=\\"RunsFailed\\"', 'Sum', 300)`);
  });
});

describe('the alarms', () => {
  it('fire on platform failures (RunsFailed ≥ 1), never on ExecutionsFailed or a designed stop', () => {
    const runsFailed = alarm('RunsFailed');
    const all = alarms().map(([, a]) => JSON.stringify(a));

    expect(runsFailed.Threshold).toBe(1);
    expect(runsFailed.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    expect((runsFailed.Metrics as Query[])[0]?.MetricStat).toEqual({
      Metric: {
        Dimensions: [{ Name: 'service', Value: 'chaperone' }],
        MetricName: 'RunsFailed',
        Namespace: 'Chaperone',
      },
      Period: 300,
      Stat: 'Sum',
    });
    expect(all.filter((a) => a.includes('ExecutionsFailed'))).toEqual([]);
    expect(all.filter((a) => a.includes('"RunsStopped"'))).toEqual([]);
    expect(alarm('invoicereconciliationTimedOut')).toMatchObject({
      MetricName: 'ExecutionsTimedOut',
      Threshold: 1,
    });
    // Every Chaperone function's Lambda errors (CDK's deploy-time seed provider of the example is not one).
    expect(alarms().filter(([, a]) => a.MetricName === 'Errors').length).toBe(
      ofType(synth.resources, 'AWS::Lambda::Function').filter(([, f]) => f.Metadata?.['chaperone:handler'])
        .length,
    );
  });

  it('fire when a tool’s success rate falls below 90% over at least 5 calls, one alarm per tool', () => {
    for (const [i, tool] of TOOLS.entries()) {
      const a = alarm(
        `ToolSuccessRate${tool.replace(/(^|_)([a-z])/g, (_m, _u, c: string) => c.toUpperCase())}`,
      );
      const queries = a.Metrics as Query[];

      expect(a.Threshold).toBe(90);
      expect(a.ComparisonOperator).toBe('LessThanThreshold');
      expect(queries[0]?.Expression).toBe(
        `IF(calls${i} >= 5, 100 * (calls${i} - FILL(failures${i}, 0)) / calls${i}, 100)`,
      );
      expect(
        queries.slice(1).map((q) => [q.Id, q.MetricStat?.Metric.MetricName, q.MetricStat?.Metric.Dimensions]),
      ).toEqual([
        [
          `calls${i}`,
          'ToolCalls',
          [
            { Name: 'service', Value: 'chaperone' },
            { Name: 'tool', Value: tool },
          ],
        ],
        [
          `failures${i}`,
          'ToolCallFailures',
          [
            { Name: 'service', Value: 'chaperone' },
            { Name: 'tool', Value: tool },
          ],
        ],
      ]);
    }
  });

  it('fire on a spike of guardrail rejections: ≥ 20% of checked actions with ≥ 5 rejections', () => {
    const a = alarm('GuardrailRejectionSpike');

    expect(a.Threshold).toBe(20);
    expect(a.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
    expect((a.Metrics as Query[]).map((q) => q.Expression ?? q.MetricStat?.Metric.MetricName)).toEqual([
      'IF(rejections >= 5, 100 * rejections / (FILL(models, 0) + FILL(toolCalls, 0) + rejections), 0)',
      'GuardrailRejections',
      'ModelCalls',
      'ToolCalls',
    ]);
  });

  it('fire when cost per run (p90) rises above its anomaly band of 3 standard deviations', () => {
    const a = alarm('CostPerRunAnomaly');
    const queries = a.Metrics as Query[];

    expect(a.ComparisonOperator).toBe('GreaterThanUpperThreshold');
    expect(a.ThresholdMetricId).toBe(queries[0]?.Id);
    expect(queries[0]?.Expression).toBe(`ANOMALY_DETECTION_BAND(${queries[1]?.Id}, 3)`);
    expect(queries[1]?.MetricStat).toMatchObject({ Metric: { MetricName: 'RunCostUsd' }, Stat: 'p90' });
  });

  it('all notify the alert topic, and missing data is not breaching', () => {
    const topicId = ofType(synth.resources, 'AWS::SNS::Topic')[0]?.[0] ?? '';
    for (const [, a] of alarms()) {
      expect(JSON.stringify(a.AlarmActions)).toContain(topicId);
      expect(a.TreatMissingData).toBe('notBreaching');
    }
  });
});

describe('the console in the stack', () => {
  it('serves /runs, /console and its files behind IAM, with the files in a layer on the api function', () => {
    const methods = ofType(synth.resources, 'AWS::ApiGateway::Method').map(([, m]) => m.Properties ?? {});
    const layers = ofType(synth.resources, 'AWS::Lambda::LayerVersion');
    const api = ofType(synth.resources, 'AWS::Lambda::Function').find(([, f]) =>
      String(f.Metadata?.['chaperone:handler']).endsWith('api.mts'),
    );

    // Each method by its full path (resources chain PathPart up to the API's root).
    const resources = Object.fromEntries(ofType(synth.resources, 'AWS::ApiGateway::Resource'));
    const pathOf = (ref: unknown): string => {
      const id = (ref as { Ref?: string }).Ref;
      const r = id ? resources[id] : undefined;
      if (!r) return '';
      return `${pathOf(r.Properties?.ParentId)}/${String(r.Properties?.PathPart)}`;
    };
    const auth = Object.fromEntries(
      methods.map((m) => [`${m.HttpMethod} ${pathOf(m.ResourceId) || '/'}`, m.AuthorizationType]),
    );

    expect(auth).toMatchObject({
      'GET /runs': 'AWS_IAM',
      'GET /runs/{id}': 'AWS_IAM',
      'GET /console': 'AWS_IAM',
      'GET /console/{file}': 'AWS_IAM',
      'GET /console/metrics': 'AWS_IAM',
      'GET /console/approvals': 'AWS_IAM',
    });
    // Only the approval links' routes are open (they check the link's HMAC signature themselves).
    expect(
      Object.entries(auth)
        .filter(([, a]) => a !== 'AWS_IAM')
        .map(([route, a]) => `${route} ${a}`)
        .sort(),
    ).toEqual(['GET /approvals/{id} NONE', 'POST /approvals/{id} NONE']);
    expect(
      methods.find((m) => m.HttpMethod === 'GET' && pathOf(m.ResourceId) === '/console/approvals')
        ?.RequestParameters,
    ).toEqual({ 'method.request.querystring.id': false });
    expect(layers).toHaveLength(1);
    expect(JSON.stringify(api?.[1].Properties?.Layers)).toContain(layers[0]?.[0]);
  });
});

describe('traces in AWS', () => {
  it('gives the finish function the OTLP traces endpoint when otlpTracesEndpoint is set, and every function active X-Ray tracing', () => {
    const app = newApp({
      bundle: false,
      validate: false,
      outdir: mkdtempSync(join(tmpdir(), 'chaperone-otlp-')),
    });
    const stack = new Stack(app, 'Traced');
    new Chaperone(stack, 'Agents', {
      workflows,
      workflowsModule: WORKFLOWS_MODULE,
      otlpTracesEndpoint: 'http://localhost:4318/v1/traces',
    });
    const fns = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    const finish = Object.values(fns).find((f) =>
      String(f.Metadata?.['chaperone:handler']).endsWith('finish.mts'),
    );
    const others = Object.values(fns).filter((f) => f !== finish && f.Metadata?.['chaperone:handler']);

    expect(finish?.Properties.Environment.Variables.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).toBe(
      'http://localhost:4318/v1/traces',
    );
    for (const f of others)
      expect(f.Properties.Environment.Variables.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).toBeUndefined();
    for (const f of [finish, ...others]) expect(f?.Properties.TracingConfig).toEqual({ Mode: 'Active' });
  });
});
