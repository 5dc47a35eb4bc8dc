/**
 * The chaos harness's figures, from hand-made truths: a model request is matched to the
 * turn it asked for (the n-th recorded model_call of its step), not to iteration n + 1,
 * because an iteration that re-drives an interrupted tool call asks no model.
 */
import { describe, expect, it } from 'vitest';
import {
  computeFigures,
  type RunTruth,
  type TrailEvent,
  type Truth,
} from '../../../../local/chaos/figures.js';
import type { LoggedRequest } from '../../../../local/scripted-model/index.js';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function modelCall(iteration: number, ms: number, status = 'ok'): TrailEvent {
  return { type: 'model_call', step: 'reconcile', iteration, status, at: at(ms) };
}

function run(trail: TrailEvent[]): RunTruth {
  return {
    runId: 'r1',
    invoiceId: 'INV-1',
    accepted: true,
    retried: false,
    status: 'SUCCEEDED',
    trail: [{ type: 'run_started', at: at(0) }, ...trail, { type: 'run_finished', at: at(90_000) }],
    executionStatus: 'SUCCEEDED',
    ledger: { tokenLimit: 100, tokensRemaining: 90, tokensUsed: 10 },
    emailedApprovals: [],
    decidedApprovals: [],
  };
}

function request(turnIndex: number, ms: number, messages = turnIndex * 2 + 1): LoggedRequest {
  return {
    at: T0 + ms,
    pid: 1,
    instance: 'i',
    requestId: `req_${turnIndex}_${ms}`,
    conversation: 'r1:reconcile',
    turnIndex,
    attempt: 1,
    messages: Array.from({ length: messages }, (_, k) => ({
      role: k % 2 === 0 ? 'user' : 'assistant',
      content: `message ${k}`,
    })) as LoggedRequest['messages'],
  };
}

const truth = (r: RunTruth, requests: LoggedRequest[], killTimes: number[] = []): Truth => ({
  runs: [r],
  payments: [],
  requests,
  killTimes: killTimes.map((ms) => T0 + ms),
  kills: killTimes.length,
});

describe('chaos figures: model calls by turn', () => {
  // Iteration 2 re-drove the tool call a kill interrupted: no model call, so turn 1 is iteration 3.
  const redriven = [modelCall(1, 1_000), modelCall(3, 30_000), modelCall(4, 31_000)];

  it('counts no model_call missing when an iteration re-drove a tool call instead of asking', () => {
    const { figures, details } = computeFigures(
      truth(run(redriven), [request(0, 900), request(1, 29_900), request(2, 30_900)]),
    );
    expect(details.missing).toEqual([]);
    expect(figures.trailEventsMissing).toBe(0);
  });

  it('counts a turn that was asked and never recorded as missing', () => {
    const { figures, details } = computeFigures(
      truth(run(redriven), [request(0, 900), request(1, 29_900), request(2, 30_900), request(3, 32_000)]),
    );
    expect(figures.trailEventsMissing).toBe(1);
    expect(details.missing).toEqual(['r1: model_call reconcile turn 3 (asked, never recorded)']);
  });

  it('excuses a turn asked again only by a kill before that turn was recorded', () => {
    // Turn 1 is recorded at +30 s (iteration 3); a kill at +40 s cannot excuse asking it again at +50 s.
    const late = computeFigures(
      truth(
        run(redriven),
        [request(0, 900), request(1, 29_900), request(1, 50_000), request(2, 30_900)],
        [40_000],
      ),
    );
    expect(late.figures.modelCallsRepeated).toBe(1);
    // A kill while it was in flight (after it was sent, before it was recorded) does.
    const inFlight = computeFigures(
      truth(
        run(redriven),
        [request(0, 900), request(1, 20_000), request(1, 29_900), request(2, 30_900)],
        [25_000],
      ),
    );
    expect(inFlight.figures.modelCallsRepeated).toBe(0);
  });

  it('does not count the per-attempt events of a failed model call as duplicates of the turn', () => {
    const trail = [modelCall(1, 500, 'error'), modelCall(1, 700, 'error'), modelCall(1, 1_000)];
    const { figures } = computeFigures(truth(run(trail), [request(0, 900)]));
    expect(figures.trailEventsDuplicated).toBe(0);
    expect(figures.trailEventsMissing).toBe(0);
  });
});

describe('chaos figures: runs that ended without succeeding', () => {
  it('counts a run that ended FAILED as failed, with why, however clean its trail', () => {
    const failed: RunTruth = {
      ...run([modelCall(1, 1_000)]),
      status: 'FAILED',
      executionStatus: 'FAILED',
      endDetail: 'RunFailed: TypeError: Cannot read properties of undefined',
    };
    const { figures, details } = computeFigures(truth(failed, [request(0, 900)]));
    expect(figures.runsFailed).toBe(1);
    expect(details.failed).toEqual([
      'r1: run FAILED, execution FAILED: RunFailed: TypeError: Cannot read properties of undefined',
    ]);
    expect(figures.runsStuck).toBe(0);
  });

  it('counts none for a run and execution that SUCCEEDED, and a stuck run as stuck only', () => {
    expect(computeFigures(truth(run([modelCall(1, 1_000)]), [request(0, 900)])).figures.runsFailed).toBe(0);
    const stuck = computeFigures(
      truth({ ...run([modelCall(1, 1_000)]), status: 'RUNNING', executionStatus: 'RUNNING' }, [
        request(0, 900),
      ]),
    );
    expect(stuck.figures).toMatchObject({ runsStuck: 1, runsFailed: 0 });
  });
});
