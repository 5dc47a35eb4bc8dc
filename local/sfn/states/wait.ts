import { EvaluationError, StatesError } from '../errors.js';
import { effectiveInput, finishPassThrough } from '../io.js';
import type { HandlerResult } from '../run-state.js';
import type { StateRun } from '../state-run.js';

const ISO_OFFSET = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an ISO-8601 extended offset date-time; undefined when invalid. */
export function parseIsoTimestamp(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const m = ISO_OFFSET.exec(value);
  if (!m) return undefined;
  const [mo, d, h, mi, se] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

async function dueTime(s: StateRun): Promise<number> {
  const now = s.entered.timestamp.getTime();
  const st = s.state;
  if (s.ql === 'JSONata') {
    if ('Seconds' in st) {
      const v = await s.evalScalar(st.Seconds, 'Seconds');
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
        throw new EvaluationError(
          'States.QueryEvaluationError',
          `The Seconds field must be a non-negative integer but was: ${JSON.stringify(v)}`,
          'Seconds',
        );
      }
      return now + v * 1000;
    }
    const v = await s.evalScalar(st.Timestamp, 'Timestamp');
    const ms = parseIsoTimestamp(v);
    if (ms === undefined) {
      throw new EvaluationError(
        'States.QueryEvaluationError',
        `The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: ${typeof v === 'string' ? v : JSON.stringify(v)}`,
        'Timestamp',
      );
    }
    return ms;
  }
  if ('Seconds' in st) return now + Number(st.Seconds) * 1000;
  if ('Timestamp' in st) return parseIsoTimestamp(st.Timestamp) ?? now;
  const eff = await effectiveInput(s);
  const jp = await s.jsonPath();
  if (typeof st.SecondsPath === 'string') {
    const v = jp.queryPath(st.SecondsPath, eff, s.context(), s.variables());
    if (typeof v !== 'number' || !Number.isInteger(v)) {
      throw new StatesError(
        'States.Runtime',
        `The SecondsPath parameter cannot be parsed as a long value: ${st.SecondsPath} == ${JSON.stringify(v)}`,
      );
    }
    if (v < 0)
      throw new StatesError(
        'States.Runtime',
        `The SecondsPath parameter references a negative value: ${st.SecondsPath} == ${v}`,
      );
    return now + v * 1000;
  }
  const path = String(st.TimestampPath);
  const v = jp.queryPath(path, eff, s.context(), s.variables());
  const ms = parseIsoTimestamp(v);
  if (ms === undefined) {
    throw new StatesError(
      'States.Runtime',
      `The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: ${path} == ${typeof v === 'string' ? v : JSON.stringify(v)}`,
    );
  }
  return ms;
}

/** Wait: until `Seconds` after entry or until `Timestamp`; the due time is recorded so a restart keeps it. */
export async function runWait(s: StateRun): Promise<HandlerResult> {
  const recordKey = `${s.key}/due`;
  const journal = s.exec.journal;
  let target: number;
  if (journal.hasRecord(recordKey)) target = journal.record(recordKey) as number;
  else {
    target = await dueTime(s);
    journal.appendRecord(recordKey, target);
  }
  const clock = s.exec.deps.clock;
  const wait = target - clock.now();
  if (wait > 0) await clock.sleep(wait, s.frame.signal);
  return finishPassThrough(s);
}
