/**
 * Evaluates the stack's CloudWatch alarms (as synthesised) against the EMF
 * documents the handlers printed and the Lambda/Step Functions figures of a
 * local run: one five-minute period, CloudWatch's semantics for what matters
 * here — a metric matches on exactly its dimensions, Sum and nearest-rank
 * percentiles, missing data is "not breaching", metric math with + - * /,
 * comparisons, IF and FILL. Anomaly-detection alarms need a learned band and
 * are returned as not evaluable.
 */
import type { CfnResource } from '../infra/synth.js';

/** One metric value printed in an EMF document. */
export interface EmfValue {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  value: number;
}

/** The metric values in EMF documents (lines of JSON with `_aws.CloudWatchMetrics`). */
export function emfValues(lines: readonly string[]): EmfValue[] {
  const out: EmfValue[] = [];
  for (const line of lines) {
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const aws = doc._aws as
      | {
          CloudWatchMetrics?: Array<{
            Namespace: string;
            Dimensions: string[][];
            Metrics: Array<{ Name: string }>;
          }>;
        }
      | undefined;
    for (const directive of aws?.CloudWatchMetrics ?? []) {
      for (const dimSet of directive.Dimensions.length ? directive.Dimensions : [[]]) {
        const dimensions = Object.fromEntries(dimSet.map((d) => [d, String(doc[d])]));
        for (const m of directive.Metrics) {
          const raw = doc[m.Name];
          for (const value of Array.isArray(raw) ? raw : [raw])
            if (typeof value === 'number')
              out.push({ namespace: directive.Namespace, name: m.Name, dimensions, value });
        }
      }
    }
  }
  return out;
}

/** A metric as an alarm names it: dimension values resolved to strings (Refs to logical ids). */
interface MetricRef {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
  stat: string;
}

export interface AlarmVerdict {
  id: string;
  state: 'ALARM' | 'OK' | 'NOT_EVALUABLE';
  value?: number;
  threshold?: number;
  /** What the alarm reads, for messages. */
  reads: string;
}

/** Values of AWS-namespace metrics (`AWS/Lambda` Errors by function logical id, …), supplied by the test. */
export type AwsFigures = (m: MetricRef) => number[];

const refOf = (v: unknown): string =>
  typeof v === 'string'
    ? v
    : typeof v === 'object' && v !== null && 'Ref' in v
      ? String((v as { Ref: unknown }).Ref)
      : JSON.stringify(v);

function metricRef(raw: Record<string, unknown>, stat: string): MetricRef {
  const dims = (raw.Dimensions as Array<{ Name: string; Value: unknown }> | undefined) ?? [];
  return {
    namespace: String(raw.Namespace),
    name: String(raw.MetricName),
    dimensions: Object.fromEntries(dims.map((d) => [d.Name, refOf(d.Value)])),
    stat,
  };
}

function statistic(values: number[], stat: string): number | undefined {
  if (values.length === 0) return undefined;
  if (stat === 'Sum') return values.reduce((a, b) => a + b, 0);
  if (stat === 'SampleCount') return values.length;
  if (stat === 'Average') return values.reduce((a, b) => a + b, 0) / values.length;
  if (stat === 'Maximum') return Math.max(...values);
  if (stat === 'Minimum') return Math.min(...values);
  const p = /^p(\d+(?:\.\d+)?)$/.exec(stat);
  if (p) {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.max(0, Math.ceil((Number(p[1]) / 100) * sorted.length) - 1)];
  }
  throw new Error(`statistic ${stat} is not supported by the local alarm evaluator`);
}

const sameDims = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);

/** Evaluate every alarm of the template for one period. */
export function evaluateAlarms(
  resources: Record<string, CfnResource>,
  emf: readonly EmfValue[],
  aws: AwsFigures,
): AlarmVerdict[] {
  const read = (m: MetricRef): number | undefined =>
    statistic(
      m.namespace.startsWith('AWS/')
        ? aws(m)
        : emf
            .filter(
              (v) => v.namespace === m.namespace && v.name === m.name && sameDims(v.dimensions, m.dimensions),
            )
            .map((v) => v.value),
      m.stat,
    );
  const verdicts: AlarmVerdict[] = [];
  for (const [id, res] of Object.entries(resources)) {
    if (res.Type !== 'AWS::CloudWatch::Alarm') continue;
    const p = res.Properties ?? {};
    let value: number | undefined;
    let reads: string;
    if (p.ThresholdMetricId) {
      verdicts.push({ id, state: 'NOT_EVALUABLE', reads: JSON.stringify(p.Metrics) });
      continue;
    }
    if (p.MetricName) {
      const m = metricRef(p, String(p.Statistic ?? p.ExtendedStatistic));
      value = read(m);
      reads = `${m.namespace} ${m.name} ${JSON.stringify(m.dimensions)} ${m.stat}`;
    } else {
      const queries = p.Metrics as Array<{
        Id: string;
        Expression?: string;
        ReturnData?: boolean;
        MetricStat?: { Metric: Record<string, unknown>; Stat: string };
      }>;
      const env = new Map<string, number | undefined>();
      for (const q of queries)
        if (q.MetricStat) env.set(q.Id, read(metricRef(q.MetricStat.Metric, q.MetricStat.Stat)));
      const top = queries.find((q) => q.ReturnData !== false) ?? queries[0];
      if (!top) throw new Error(`${id}: no metrics`);
      value = top.Expression ? evaluateExpression(top.Expression, env) : env.get(top.Id);
      reads = top.Expression ?? top.Id;
    }
    const threshold = Number(p.Threshold);
    const op = String(p.ComparisonOperator);
    const breaching =
      value !== undefined &&
      (op === 'GreaterThanOrEqualToThreshold'
        ? value >= threshold
        : op === 'GreaterThanThreshold'
          ? value > threshold
          : op === 'LessThanThreshold'
            ? value < threshold
            : op === 'LessThanOrEqualToThreshold'
              ? value <= threshold
              : (() => {
                  throw new Error(`${id}: comparison ${op} is not supported`);
                })());
    verdicts.push({
      id,
      state: breaching ? 'ALARM' : 'OK',
      ...(value !== undefined ? { value } : {}),
      threshold,
      reads,
    });
  }
  return verdicts;
}

type Value = number | undefined;

/** Metric math over one period: numbers, ids, + - * /, comparisons, IF(c, a, b), FILL(x, v). */
export function evaluateExpression(expression: string, env: ReadonlyMap<string, Value>): Value {
  const tokens =
    expression
      .match(/\s*(>=|<=|==|!=|[-+*/(),<>]|[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?)/g)
      ?.map((t) => t.trim()) ?? [];
  if (tokens.join('') !== expression.replace(/\s+/g, ''))
    throw new Error(`cannot parse expression ${expression}`);
  let i = 0;
  const peek = () => tokens[i];
  const take = (t?: string) => {
    const tok = tokens[i++];
    if (t !== undefined && tok !== t) throw new Error(`expected ${t} in ${expression}, got ${tok}`);
    return tok ?? '';
  };
  const num = (f: (a: number, b: number) => number) => (a: Value, b: Value) =>
    a === undefined || b === undefined ? undefined : f(a, b);
  const ops: Record<string, (a: Value, b: Value) => Value> = {
    '+': num((a, b) => a + b),
    '-': num((a, b) => a - b),
    '*': num((a, b) => a * b),
    '/': num((a, b) => (b === 0 ? Number.NaN : a / b)),
    '>=': num((a, b) => Number(a >= b)),
    '<=': num((a, b) => Number(a <= b)),
    '>': num((a, b) => Number(a > b)),
    '<': num((a, b) => Number(a < b)),
    '==': num((a, b) => Number(a === b)),
    '!=': num((a, b) => Number(a !== b)),
  };
  const binary = (levels: string[][], level: number): Value => {
    if (level === levels.length) return primary();
    let left = binary(levels, level + 1);
    while (levels[level]?.includes(peek() ?? '')) {
      const op = take();
      left = ops[op]?.(left, binary(levels, level + 1));
    }
    return left;
  };
  const LEVELS = [
    ['>=', '<=', '>', '<', '==', '!='],
    ['+', '-'],
    ['*', '/'],
  ];
  const expr = (): Value => binary(LEVELS, 0);
  const primary = (): Value => {
    const tok = take();
    if (tok === '(') {
      const v = expr();
      take(')');
      return v;
    }
    if (/^\d/.test(tok)) return Number(tok);
    if (tok === 'IF' || tok === 'FILL') {
      take('(');
      const args: Value[] = [expr()];
      while (peek() === ',') {
        take(',');
        args.push(expr());
      }
      take(')');
      if (tok === 'FILL') return args[0] ?? args[1];
      const [c, a, b] = args;
      return c === undefined ? undefined : c !== 0 ? a : b;
    }
    if (!env.has(tok)) throw new Error(`unknown id ${tok} in ${expression}`);
    return env.get(tok);
  };
  const v = expr();
  if (i !== tokens.length) throw new Error(`trailing tokens in ${expression}`);
  return v;
}
