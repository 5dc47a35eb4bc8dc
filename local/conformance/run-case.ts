import { VirtualClock } from '../sfn/clock.js';
import type { CallbackMessage } from '../sfn/execution.js';
import { LocalStepFunctions } from '../sfn/service.js';
import { isObject } from '../sfn/types.js';
import { diff } from './compare.js';
import { FakeLambdaInvoker } from './fake-lambdas.js';
import { historyDetailDiff } from './history-detail.js';

/** One corpus case (see the corpus README, "Case format"). */
export interface ConformanceCase {
  id: string;
  queryLanguage: 'JSONata' | 'JSONPath';
  features: string[];
  stateMachineType?: string;
  definition: Record<string, unknown>;
  input: unknown;
  expected: { status: string; output?: unknown; error?: string; cause?: unknown };
  fakeLambdas: Record<string, string>;
  callback?: { actions: CallbackAction[] };
  normalised?: string[];
  events?: { type: string }[] | null;
  notes?: string;
  rawEvents?: unknown[];
}

/** A consumer call of a callback case. */
export interface CallbackAction {
  call: 'SendTaskSuccess' | 'SendTaskFailure' | 'SendTaskHeartbeat';
  output?: unknown;
  outputRule?: string;
  error?: string | null;
  cause?: string | null;
  times?: number;
  forState?: string;
}

/** Result of running one case. */
export interface CaseResult {
  id: string;
  pass: boolean;
  reason?: string;
  /** Whether the recorded history's event types were reproduced in order (undefined: nothing recorded to compare). */
  historyMatch?: boolean;
  historyReason?: string;
  /** First difference in event ids/details (null: identical; absent: not compared). */
  historyDetail?: string | null;
}

/** Parses an untrusted case file into a ConformanceCase (minimal structural checks). */
export function parseCase(raw: unknown): ConformanceCase | undefined {
  if (!isObject(raw) || typeof raw.id !== 'string' || !isObject(raw.definition) || !isObject(raw.expected))
    return undefined;
  if (typeof raw.expected.status !== 'string') return undefined;
  return {
    id: raw.id,
    queryLanguage: raw.queryLanguage === 'JSONata' ? 'JSONata' : 'JSONPath',
    features: Array.isArray(raw.features)
      ? raw.features.filter((f): f is string => typeof f === 'string')
      : [],
    stateMachineType: typeof raw.stateMachineType === 'string' ? raw.stateMachineType : undefined,
    definition: raw.definition,
    input: raw.input,
    expected: raw.expected as ConformanceCase['expected'],
    fakeLambdas: isObject(raw.fakeLambdas) ? (raw.fakeLambdas as Record<string, string>) : {},
    callback:
      isObject(raw.callback) && Array.isArray(raw.callback.actions)
        ? { actions: raw.callback.actions as CallbackAction[] }
        : undefined,
    normalised: Array.isArray(raw.normalised)
      ? raw.normalised.filter((p): p is string => typeof p === 'string')
      : undefined,
    events: Array.isArray(raw.events)
      ? raw.events.filter((e): e is { type: string } => isObject(e) && typeof e.type === 'string')
      : null,
    rawEvents: Array.isArray(raw.events) ? raw.events : undefined,
    notes: Array.isArray(raw.notes)
      ? raw.notes.join(' ')
      : typeof raw.notes === 'string'
        ? raw.notes
        : undefined,
  };
}

function messageBody(message: CallbackMessage): unknown {
  const p = message.parameters;
  if (!isObject(p)) return undefined;
  const body = message.transport === 'sns' ? p.Message : p.MessageBody;
  if (typeof body === 'string') {
    try {
      return JSON.parse(body);
    } catch {
      return body;
    }
  }
  return body;
}

function consumer(c: ConformanceCase, sfn: () => LocalStepFunctions): (m: CallbackMessage) => void {
  const actions = c.callback?.actions ?? [];
  return (message) => {
    const body = messageBody(message);
    const token = isObject(body) && typeof body.TaskToken === 'string' ? body.TaskToken : undefined;
    if (!token) return;
    const mine = actions.some((a) => a.forState)
      ? actions.filter((a) => a.forState === message.stateName)
      : actions;
    const api = sfn();
    for (const a of mine) {
      try {
        if (a.call === 'SendTaskHeartbeat')
          for (let i = 0; i < (a.times ?? 1); i++) api.sendTaskHeartbeat({ taskToken: token });
        else if (a.call === 'SendTaskFailure') {
          api.sendTaskFailure({ taskToken: token, error: a.error ?? undefined, cause: a.cause ?? undefined });
        } else {
          const output = 'output' in a ? a.output : body;
          api.sendTaskSuccess({ taskToken: token, output: JSON.stringify(output) });
        }
      } catch {
        // A consumer call AWS would also have refused; the execution's result shows it.
      }
    }
  };
}

/** Runs one case on a fresh in-memory runtime with a virtual clock; `capMs` bounds real time. */
export async function runCase(c: ConformanceCase, capMs: number): Promise<CaseResult> {
  const clock = new VirtualClock(Date.now());
  let sfn: LocalStepFunctions | undefined;
  const getSfn = (): LocalStepFunctions => sfn as LocalStepFunctions;
  sfn = new LocalStepFunctions({
    invoker: new FakeLambdaInvoker(c.fakeLambdas, clock),
    clock,
    allowUnsupportedResources: true,
    onCallback: consumer(c, getSfn),
  });
  const arn = sfn.stateMachineArn('conformance');
  try {
    sfn.registerStateMachine(arn, c.definition, {
      type: c.stateMachineType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD',
    });
  } catch (err) {
    return {
      id: c.id,
      pass: false,
      reason: `definition refused: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    const { executionArn } = sfn.startExecution({
      stateMachineArn: arn,
      input: JSON.stringify(c.input ?? {}),
    });
    const capped = new Promise<'cap'>((resolve) => {
      timer = setTimeout(() => resolve('cap'), capMs);
    });
    const done = await Promise.race([sfn.waitForExecution(executionArn), capped]);
    if (done === 'cap') return { id: c.id, pass: false, reason: `no result within ${capMs} ms` };
    const verdict = judge(c, done);
    const events = sfn.getExecutionHistory({ executionArn }).events;
    const detail =
      c.events && c.events.length > 0 && !(c.notes ?? '').includes('re-sorted')
        ? { historyDetail: historyDetailDiff(c.rawEvents ?? [], events, c.normalised ?? []) ?? null }
        : {};
    return {
      ...verdict,
      ...compareHistory(
        c,
        events.map((e) => e.type),
      ),
      ...detail,
    };
  } catch (err) {
    return {
      id: c.id,
      pass: false,
      reason: `runner error: ${err instanceof Error ? err.message : String(err)}`,
    };
  } finally {
    if (timer) clearTimeout(timer);
    await sfn.close();
  }
}

function judge(
  c: ConformanceCase,
  d: { status?: string; output?: string; error?: string; cause?: string },
): CaseResult {
  const e = c.expected;
  const ph = c.normalised ?? [];
  if (d.status !== e.status) {
    const got =
      d.status === 'FAILED' ? `FAILED ${d.error ?? ''}: ${(d.cause ?? '').slice(0, 200)}` : String(d.status);
    return { id: c.id, pass: false, reason: `status: expected ${e.status}, got ${got}` };
  }
  if (e.status === 'SUCCEEDED') {
    const out = d.output === undefined ? undefined : (JSON.parse(d.output) as unknown);
    const why = diff(e.output, out, ph);
    return why ? { id: c.id, pass: false, reason: `output ${why}` } : { id: c.id, pass: true };
  }
  if (e.status === 'FAILED') {
    if ((e.error ?? undefined) !== (d.error ?? undefined))
      return { id: c.id, pass: false, reason: `error: expected ${e.error} got ${d.error}` };
    if (e.cause === undefined)
      return d.cause === undefined || d.cause === ''
        ? { id: c.id, pass: true }
        : { id: c.id, pass: false, reason: `cause: expected none got ${d.cause.slice(0, 160)}` };
    const why = diff(e.cause, d.cause, ph);
    return why ? { id: c.id, pass: false, reason: `cause ${why}` } : { id: c.id, pass: true };
  }
  return { id: c.id, pass: true };
}

/** Compares the sequence of event types with the recorded one (cases whose events were not re-sorted). */
function compareHistory(
  c: ConformanceCase,
  actual: string[],
): Pick<CaseResult, 'historyMatch' | 'historyReason'> {
  if (!c.events || c.events.length === 0) return {};
  let expected = c.events.map((e) => e.type);
  if ((c.notes ?? '').includes('re-sorted')) {
    // Parallel-sorted recordings: compare the multiset of types (inner events may be missing).
    expected = [...expected].sort();
    const got = [...actual].sort();
    const missing = expected.filter((t) => {
      const i = got.indexOf(t);
      if (i < 0) return true;
      got.splice(i, 1);
      return false;
    });
    const extraAllowed = got.every((t) => /^Parallel(State(Succeeded|Failed))$/.test(t));
    if (missing.length === 0 && extraAllowed) return { historyMatch: true };
    return {
      historyMatch: false,
      historyReason: `event multiset: missing ${missing.join(',') || '-'}, extra ${got.join(',') || '-'}`,
    };
  }
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    if (expected[i] !== actual[i]) {
      return {
        historyMatch: false,
        historyReason: `event #${i + 1}: expected ${expected[i] ?? '(end)'} got ${actual[i] ?? '(end)'}`,
      };
    }
  }
  return { historyMatch: true };
}
