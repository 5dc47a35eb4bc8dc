import type { Json } from './model.js';
import type { RunStore } from './run-records.js';

/**
 * The outputs a step declared it needs: a whole step's output for `<step>`,
 * and for `<step>.<field>` only that field of what the step passed on
 * (`outputs[step] = { field }`). Nothing else travels forward.
 */
export async function outputsFor(
  store: RunStore,
  runId: string,
  needs: readonly string[],
  /** Reads offloaded outputs back (offload.ts) before fields are picked from them. */
  resolve: (stored: Record<string, Json>) => Promise<Record<string, Json>> = async (o) => o,
): Promise<Record<string, Json>> {
  const steps = [...new Set(needs.map((n) => (n.includes('.') ? n.slice(0, n.indexOf('.')) : n)))];
  const stored = await resolve(await store.getStepOutputs(runId, steps));
  const out: Record<string, Json> = {};
  for (const need of needs) {
    const dot = need.indexOf('.');
    if (dot < 0) {
      if (need in stored) out[need] = stored[need] as Json;
      continue;
    }
    const step = need.slice(0, dot);
    const value = stored[step];
    if (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) continue;
    const field = need.slice(dot + 1);
    const picked = (out[step] ?? {}) as { [key: string]: Json };
    if (field in value) picked[field] = value[field] as Json;
    out[step] = picked;
  }
  return out;
}
