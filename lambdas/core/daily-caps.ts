import type { Workflow } from '../../state-machines/workflow.js';
import { MICROS_PER_USD } from './pricing.js';
import type { Reservation, RunFacts, RunStore } from './run-records.js';

/** One shared daily cap a call counts against. */
export interface DailyCap {
  key: string;
  label: string;
  limits: { tokens: number; costMicros: number };
}

/** The workflow's and the tenant's caps for the UTC day of `now`. */
export function dailyCapsFor(workflow: Workflow, meta: RunFacts, now: number): DailyCap[] {
  const day = new Date(now).toISOString().slice(0, 10);
  const unlimited = Number.MAX_SAFE_INTEGER;
  const caps: DailyCap[] = [];
  const { tokens, costUsd, perTenant } = workflow.dailyCaps;
  if (tokens !== undefined || costUsd !== undefined) {
    caps.push({
      key: `workflow#${workflow.name}#${day}`,
      label: `workflow ${workflow.name} on ${day}`,
      limits: {
        tokens: tokens ?? unlimited,
        costMicros: costUsd === undefined ? unlimited : Math.round(costUsd * MICROS_PER_USD),
      },
    });
  }
  if (meta.tenant && perTenant && (perTenant.tokens !== undefined || perTenant.costUsd !== undefined)) {
    caps.push({
      key: `tenant#${meta.tenant}#workflow#${workflow.name}#${day}`,
      label: `tenant ${meta.tenant} on ${day}`,
      limits: {
        tokens: perTenant.tokens ?? unlimited,
        costMicros:
          perTenant.costUsd === undefined ? unlimited : Math.round(perTenant.costUsd * MICROS_PER_USD),
      },
    });
  }
  return caps;
}

/**
 * Reserve against every cap under the run's reservation `key`, all or
 * nothing: on a refusal the caps already reserved are released. Reserving
 * again under the same key reserves nothing more. Returns the refusing cap's
 * message, or undefined. Settling the run's reservation settles its caps.
 */
export async function reserveCaps(
  store: RunStore,
  caps: readonly DailyCap[],
  runId: string,
  key: string,
  amount: Reservation,
): Promise<string | undefined> {
  const taken: DailyCap[] = [];
  for (const cap of caps) {
    const out = await store.reserveCap(cap.key, cap.limits, runId, key, { ...amount, steps: 0 });
    if (!out.ok) {
      for (const t of taken) await store.settleCap(t.key, runId, key, { tokens: 0, costMicros: 0 });
      const l = out.ledger;
      return out.limit === 'tokens'
        ? `daily token cap of ${cap.label}: ${l.tokensUsed} of ${l.tokenLimit} used (${l.tokensRemaining} left); the next call could use up to ${amount.tokens}`
        : `daily cost cap of ${cap.label}: $${(l.costUsedMicros / MICROS_PER_USD).toFixed(4)} of $${(l.costLimitMicros / MICROS_PER_USD).toFixed(4)} used`;
    }
    taken.push(cap);
  }
  return undefined;
}
