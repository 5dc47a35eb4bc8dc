import { describe, expect, it } from 'vitest';
import { circuitOf } from '../../../lambdas/core/breakers.js';

const state = (consecutiveFailures: number, openUntil: number) => ({
  tool: 'quotes',
  consecutiveFailures,
  openUntil,
});

describe('circuitOf', () => {
  it('is closed below the threshold, whatever openUntil says', () => {
    expect(circuitOf(state(0, 0), 3, 1_000)).toBe('closed');
    expect(circuitOf(state(2, 5_000), 3, 1_000)).toBe('closed');
  });

  it('is open from the threshold until the cool-down ends', () => {
    expect(circuitOf(state(3, 5_000), 3, 1_000)).toBe('open');
    expect(circuitOf(state(7, 5_000), 3, 4_999)).toBe('open');
  });

  it('is half-open once the cool-down has ended, so one trial can decide', () => {
    expect(circuitOf(state(3, 5_000), 3, 5_000)).toBe('half-open');
    expect(circuitOf(state(3, 5_000), 3, 60_000)).toBe('half-open');
  });

  it('opens on the first failure with a threshold of 1', () => {
    expect(circuitOf(state(1, 2_000), 1, 1_000)).toBe('open');
  });
});
