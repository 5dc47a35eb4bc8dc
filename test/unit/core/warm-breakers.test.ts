import { describe, expect, it } from 'vitest';
import { type BreakerState, type BreakerStore, warmBreakers } from '../../../lambdas/core/breakers.js';

/** A Breakers table in memory that counts what reaches it. */
function countingStore() {
  const states = new Map<string, BreakerState>();
  const calls = { get: 0, recordSuccess: 0, recordFailure: 0 };
  const store: BreakerStore = {
    async get(tool) {
      calls.get += 1;
      return states.get(tool) ?? { tool, consecutiveFailures: 0, openUntil: 0 };
    },
    async recordSuccess(tool) {
      calls.recordSuccess += 1;
      states.set(tool, { tool, consecutiveFailures: 0, openUntil: 0 });
    },
    async recordFailure(tool, threshold, openUntil) {
      calls.recordFailure += 1;
      const n = (states.get(tool)?.consecutiveFailures ?? 0) + 1;
      const state = { tool, consecutiveFailures: n, openUntil: n >= threshold ? openUntil : 0 };
      states.set(tool, state);
      return state;
    },
    async claimTrial() {
      return true;
    },
  };
  return { store, calls, states };
}

describe('the breaker view of a warm container', () => {
  it('neither writes on the success path of a healthy tool nor reads it again within the TTL', async () => {
    const { store, calls } = countingStore();
    const view = warmBreakers(store, 60_000);
    for (let i = 0; i < 10; i++) {
      await view.get('pay');
      await view.recordSuccess('pay');
    }
    expect(calls).toEqual({ get: 1, recordSuccess: 0, recordFailure: 0 });
  });

  it('resets a failure count with the next success, and sees its own failures at once', async () => {
    const { store, calls } = countingStore();
    const view = warmBreakers(store, 60_000);
    await view.recordFailure('pay', 2, 1_000);
    expect((await view.get('pay')).consecutiveFailures).toBe(1);
    await view.recordFailure('pay', 2, 1_000);
    expect((await view.get('pay')).openUntil).toBe(1_000);
    await view.recordSuccess('pay');
    await view.recordSuccess('pay');
    expect(calls.recordSuccess).toBe(1);
    expect((await view.get('pay')).consecutiveFailures).toBe(0);
    expect(calls.get).toBe(0);
  });

  it('reads again after the TTL: a circuit another container opened is seen', async () => {
    const { store, states } = countingStore();
    const view = warmBreakers(store, 0);
    expect((await view.get('pay')).openUntil).toBe(0);
    states.set('pay', { tool: 'pay', consecutiveFailures: 5, openUntil: 9_999 });
    expect((await view.get('pay')).openUntil).toBe(9_999);
  });
});
