/** A tool's circuit as all runs share it. */
export interface BreakerState {
  tool: string;
  consecutiveFailures: number;
  /** Epoch ms until which the circuit is open; 0 when closed. */
  openUntil: number;
}

/** The Breakers table as core sees it. */
export interface BreakerStore {
  get(tool: string): Promise<BreakerState>;
  /** Reset the failure count (closes the circuit). */
  recordSuccess(tool: string): Promise<void>;
  /** Count a failure; open the circuit until `openUntil` when the threshold is reached. */
  recordFailure(tool: string, threshold: number, openUntil: number): Promise<BreakerState>;
  /**
   * Claim the one trial call of a half-open circuit until `trialUntil`; false
   * when another caller holds it (or the circuit is open again).
   */
  claimTrial(tool: string, now: number, trialUntil: number): Promise<boolean>;
}

export type CircuitView = 'closed' | 'open' | 'half-open';

/** Closed below the threshold; open until the cool-down ends; then half-open: one trial decides. */
export function circuitOf(state: BreakerState, threshold: number, now: number): CircuitView {
  if (state.consecutiveFailures < threshold) return 'closed';
  return now < state.openUntil ? 'open' : 'half-open';
}
