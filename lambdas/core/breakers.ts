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

/** How long a warm container trusts the breaker state it last read or wrote. */
export const BREAKER_VIEW_TTL_MS = 2_000;

const views = new WeakMap<BreakerStore, BreakerStore>();

/**
 * The Breakers table as one warm container sees it: a tool's state is read at
 * most once per {@link BREAKER_VIEW_TTL_MS} (and is current after this
 * container's own writes), and a success writes only when there is a failure
 * count to reset. A healthy tool's item — shared by every run — is then never
 * written on the success path and rarely read. The price: a circuit another
 * container opened is seen here up to the TTL later, and a success here may
 * leave another container's failure in the count until the next one resets it.
 */
export function warmBreakers(store: BreakerStore, ttlMs = BREAKER_VIEW_TTL_MS): BreakerStore {
  const known = views.get(store);
  if (known) return known;
  const seen = new Map<string, { state: BreakerState; at: number }>();
  const remember = (state: BreakerState) => seen.set(state.tool, { state, at: Date.now() });
  const view: BreakerStore = {
    async get(tool) {
      const hit = seen.get(tool);
      if (hit && Date.now() - hit.at < ttlMs) return hit.state;
      const state = await store.get(tool);
      remember(state);
      return state;
    },
    async recordSuccess(tool) {
      const hit = seen.get(tool);
      if (
        hit &&
        Date.now() - hit.at < ttlMs &&
        hit.state.consecutiveFailures === 0 &&
        hit.state.openUntil === 0
      )
        return;
      await store.recordSuccess(tool);
      remember({ tool, consecutiveFailures: 0, openUntil: 0 });
    },
    async recordFailure(tool, threshold, openUntil) {
      const state = await store.recordFailure(tool, threshold, openUntil);
      remember(state);
      return state;
    },
    async claimTrial(tool, now, trialUntil) {
      seen.delete(tool);
      return store.claimTrial(tool, now, trialUntil);
    },
  };
  views.set(store, view);
  return view;
}
