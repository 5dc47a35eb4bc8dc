import { eventIds } from './claims.js';
import { MICROS_PER_USD } from './pricing.js';
import type { KeyedEvent, OpenReservation, RunStore } from './run-records.js';

/** What charging a lost call came to. */
export type LostCallCharge =
  /** Nothing was held under the key any more: another attempt settled it meanwhile. */
  | { kind: 'gone' }
  /** The lost call is charged, and as much again is held for this attempt's. */
  | { kind: 'reserved' }
  /**
   * The lost call is charged, and `why` (the run's token or cost budget, or a daily cap) cannot
   * hold this attempt's; `limit` names the run's limit (undefined for a daily cap).
   */
  | { kind: 'refused'; why: string; limit: 'tokens' | 'cost' | undefined };

/**
 * The `model_call_lost` event that charges `held` once more: its id names the
 * charge (the hold's count of charges so far), so two attempts that find the
 * same lost hold write one event. `call` names a side call (absent: the turn's own).
 */
export function lostCallEvent(
  step: string,
  iteration: number,
  model: string,
  held: OpenReservation,
  call?: 'summary' | 'classifier',
): KeyedEvent {
  return {
    id: eventIds.modelLost(step, iteration, held.charged ?? 0, call),
    event: {
      type: 'model_call_lost',
      step,
      iteration,
      model,
      chargedTokens: held.tokens,
      costUsd: held.costMicros / MICROS_PER_USD,
      ...(call ? { call } : {}),
    },
  };
}

/**
 * A side call of a turn (the running summary's, the input classifier's) whose
 * earlier attempt reserved under `key` and vanished before settling (killed,
 * timed out, its answer's write failed) may have been billed: its
 * reservation is charged in full with a `model_call_lost` event and as much
 * is held again for this attempt, in one write (`RunStore.chargeLostTurn`),
 * as a turn's own lost call is. A reservation of nothing (a tier that costs
 * nothing) is not a call to charge.
 */
export async function chargeLostCall(
  store: RunStore,
  lost: {
    runId: string;
    key: string;
    step: string;
    iteration: number;
    model: string;
    call: 'summary' | 'classifier';
  },
): Promise<LostCallCharge> {
  const held = (await store.openReservations(lost.runId))[lost.key];
  if (!held) return { kind: 'gone' };
  if (held.tokens === 0 && held.costMicros === 0) return { kind: 'reserved' };
  const out = await store.chargeLostTurn(
    lost.runId,
    lost.key,
    held,
    lostCallEvent(lost.step, lost.iteration, lost.model, held, lost.call),
  );
  if (out.kind !== 'refused') return out.kind === 'gone' ? { kind: 'gone' } : { kind: 'reserved' };
  const limit = out.limit === 'tokens' ? 'token' : 'cost';
  return out.cap
    ? { kind: 'refused', why: `daily ${limit} cap ${out.cap}`, limit: undefined }
    : { kind: 'refused', why: `${limit} budget`, limit: out.limit };
}
