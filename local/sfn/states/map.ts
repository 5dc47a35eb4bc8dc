import { EvaluationError, ExecutionAbortedError, StatesError } from '../errors.js';
import { effectiveInput, finishWithResult } from '../io.js';
import { TaskError } from '../retry-catch.js';
import type { HandlerResult } from '../run-state.js';
import { runMachine } from '../run-state.js';
import { StateRun } from '../state-run.js';
import { isObject, type MachineDef } from '../types.js';
import { type ChildOutcome, childFrame, runChildren } from './branches.js';

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

async function mapItems(s: StateRun, eff: unknown): Promise<unknown[]> {
  if (s.ql === 'JSONata') {
    if (!('Items' in s.state)) {
      if (!Array.isArray(s.input)) {
        throw new EvaluationError(
          'States.QueryEvaluationError',
          `Map state input must be an array but was: ${JSON.stringify(s.input)}`,
          undefined,
        );
      }
      return s.input;
    }
    const v = await s.evalField(s.state.Items, 'Items');
    if (!Array.isArray(v)) {
      const text =
        typeof s.state.Items === 'string'
          ? s.state.Items.replace(/^\{%\s*|\s*%\}$/g, '')
          : JSON.stringify(s.state.Items);
      throw new EvaluationError(
        'States.QueryEvaluationError',
        `The JSONata expression '${text}' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '${typeName(v)}' for value: ${JSON.stringify(v)}`,
        'Items',
      );
    }
    return v;
  }
  const jp = await s.jsonPath();
  const v =
    typeof s.state.ItemsPath === 'string'
      ? jp.queryPath(s.state.ItemsPath, eff, s.context(), s.variables())
      : eff;
  if (!Array.isArray(v))
    throw new StatesError('States.Runtime', `Map state input must be an array but was: ${JSON.stringify(v)}`);
  return v;
}

async function limitField(
  s: StateRun,
  field: string,
  eff: unknown,
  kind: 'integer' | 'float',
): Promise<number | undefined> {
  if (field in s.state) {
    const v = s.ql === 'JSONata' ? await s.evalScalar(s.state[field], field) : s.state[field];
    if (typeof v !== 'number')
      throw new EvaluationError(
        'States.QueryEvaluationError',
        `The ${field} field must be a number but was: ${JSON.stringify(v)}`,
        field,
      );
    return v;
  }
  const path = s.state[`${field}Path`];
  if (typeof path !== 'string' || s.ql !== 'JSONPath') return undefined;
  const jp = await s.jsonPath();
  let v = jp.queryPath(path, eff, s.context(), s.variables());
  if (typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim())) v = Number(v);
  if (typeof v !== 'number' || (kind === 'integer' && !Number.isInteger(v))) {
    const shown = typeof v === 'string' ? v : JSON.stringify(v);
    throw new StatesError(
      'States.Runtime',
      `The ${field}Path field refers to value "${shown}" which is not a valid ${kind}: ${path}`,
    );
  }
  return v;
}

async function selectItem(
  s: StateRun,
  attempt: number,
  eff: unknown,
  index: number,
  value: unknown,
): Promise<unknown> {
  const tpl = 'ItemSelector' in s.state ? s.state.ItemSelector : s.state.Parameters;
  if (tpl === undefined) return value;
  const run = new StateRun(
    s.exec,
    { ...s.frame, mapItem: { Index: index, Value: value } },
    s.name,
    s.state,
    `${s.key}#${attempt}[${index}]/selector`,
    s.ql,
    s.input,
    s.entered,
  );
  if (s.ql === 'JSONata') return run.evalField(tpl, 'ItemSelector');
  const jp = await s.jsonPath();
  return jp.applyPayloadTemplate(tpl, eff, run.context(), s.variables());
}

interface MapLimits {
  maxConcurrency: number;
  tolCount: number | undefined;
  tolPct: number | undefined;
}

async function mapLimits(s: StateRun, eff: unknown): Promise<MapLimits> {
  const maxConcurrency = (await limitField(s, 'MaxConcurrency', eff, 'integer')) ?? 0;
  const tolCount = await limitField(s, 'ToleratedFailureCount', eff, 'integer');
  const tolPct = await limitField(s, 'ToleratedFailurePercentage', eff, 'float');
  if (tolCount !== undefined && tolCount < 0) {
    throw new StatesError('States.Runtime', 'ToleratedFailureCount cannot be negative.');
  }
  if (tolPct !== undefined && (tolPct < 0 || tolPct > 100)) {
    throw new StatesError('States.Runtime', 'ToleratedFailurePercentage must be between 0 and 100.');
  }
  return { maxConcurrency, tolCount, tolPct };
}

/**
 * Map: one run of ItemProcessor per item. A DISTRIBUTED Map runs in-process
 * too, but like AWS its iterations stay out of the parent history (Map Run events instead).
 */
export async function runMap(s: StateRun, attempt: number): Promise<HandlerResult> {
  const proc = (s.state.ItemProcessor ?? s.state.Iterator) as MachineDef;
  const config =
    isObject(proc) && isObject((proc as unknown as Record<string, unknown>).ProcessorConfig)
      ? ((proc as unknown as Record<string, unknown>).ProcessorConfig as Record<string, unknown>)
      : {};
  const distributed = config.Mode === 'DISTRIBUTED';
  const eff = await effectiveInput(s);
  const items = await mapItems(s, eff);
  let limits: MapLimits | undefined;
  if (!distributed) limits = await mapLimits(s, eff);
  const inputs: unknown[] = [];
  for (let i = 0; i < items.length; i++) inputs.push(await selectItem(s, attempt, eff, i, items[i]));

  const started = s.emit(`#${attempt}/started`, 'MapStateStarted', { length: items.length });
  if (!limits) {
    try {
      limits = await mapLimits(s, eff);
    } catch (err) {
      if (err instanceof StatesError) err.suppressStateFailed = true;
      throw err;
    }
  }
  const { maxConcurrency, tolCount, tolPct } = limits;
  let parentId = started.id;
  // AWS chains each iteration to the last state event of the previous one; iteration-end events do not move that cursor.
  const cursor = { id: started.id, lastEnd: started.id };
  if (distributed) {
    const mapRunArn = `${s.exec.meta.stateMachineArn.replace(':stateMachine:', ':mapRun:')}/${s.name}:${attempt}`;
    parentId = s.emit(`#${attempt}/run-started`, 'MapRunStarted', { mapRunArn }).id;
    cursor.id = parentId;
  }
  const tolerant = tolCount !== undefined || tolPct !== undefined;
  const exceeded = (outcomes: (ChildOutcome | undefined)[]): boolean => {
    const failures = outcomes.filter((o) => o && !o.ok).length;
    if (!tolerant) return failures > 0;
    const byCount = tolCount !== undefined && failures > tolCount;
    const byPct = tolPct !== undefined && items.length > 0 && (failures / items.length) * 100 > tolPct;
    if (tolCount !== undefined && tolPct !== undefined) return byCount && byPct;
    return byCount || byPct;
  };
  const outcomes = await runChildren(
    items.length,
    maxConcurrency,
    s.frame.signal,
    async (i, signal) => {
      const base = `${s.key}#${attempt}[${i}]`;
      const frame = childFrame(s.frame, base, signal, cursor.id);
      if (distributed) frame.hidden = true;
      s.exec.emit(frame, `${base}/iteration-started`, 'MapIterationStarted', { index: i, name: s.name });
      try {
        const out = await runMachine(s.exec, proc, inputs[i], frame, s.ql);
        cursor.id = frame.lastEventId;
        cursor.lastEnd = s.exec.emit({ ...frame }, `${base}/iteration-end`, 'MapIterationSucceeded', {
          index: i,
          name: s.name,
        }).id;
        return out;
      } catch (err) {
        // A runtime shutting down (close) leaves no trace: the iteration resumes on restart.
        if (s.frame.signal.aborted && isClosing(s.frame.signal)) throw err;
        const type = signal.aborted ? 'MapIterationAborted' : 'MapIterationFailed';
        cursor.id = frame.lastEventId;
        cursor.lastEnd = s.exec.emit({ ...frame }, `${base}/iteration-end`, type, {
          index: i,
          name: s.name,
        }).id;
        throw err;
      }
    },
    exceeded,
  );

  if (exceeded(outcomes)) {
    // MapStateFailed (and a retry's MapStateStarted) follow the last state event, not the iteration end.
    if (!distributed) s.frame.lastEventId = cursor.id;
    if (distributed) s.emit(`#${attempt}/run-end`, 'MapRunFailed', {});
    if (tolerant) {
      throw new TaskError(
        'States.ExceedToleratedFailureThreshold',
        'The specified tolerated failure threshold for the Map Run has been exceeded',
      );
    }
    const first = outcomes.find((o) => o && !o.ok && 'error' in o);
    const err =
      first && !first.ok && 'error' in first
        ? first.error
        : new StatesError('States.Runtime', 'Map iteration failed');
    throw new TaskError(err.error, err.causeText);
  }
  if (!distributed) s.frame.lastEventId = cursor.lastEnd;
  const runEnd = distributed ? s.emit(`#${attempt}/run-end`, 'MapRunSucceeded').id : cursor.lastEnd;
  s.emit(`#${attempt}/succeeded`, 'MapStateSucceeded');
  s.frame.lastEventId = runEnd;
  const results = outcomes.map((o) => {
    if (o?.ok) return o.output;
    if (o && 'error' in o) return { Error: o.error.error, Cause: o.error.causeText ?? null };
    return null;
  });
  return finishWithResult(s, results, { resultSelector: true });
}

function isClosing(signal: AbortSignal): boolean {
  return signal.reason instanceof ExecutionAbortedError && signal.reason.reason === 'closed';
}
