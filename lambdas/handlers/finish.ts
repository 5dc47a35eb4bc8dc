import { type FinishEvent, finishEventSchema } from '../../state-machines/contract.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { sendTrace, tracesEndpoint } from '../adapters/otlp-http.js';
import type { Env } from '../config.js';
import { finishRun } from '../core/finish.js';
import { exportRunTrace } from '../core/otel-export.js';
import { memoryDeps } from '../memory-config.js';
import { eventParser } from './parse-event.js';
import { sfnEngine } from './wire/engine.js';
import { coreDeps } from './wire/store.js';

const parse = eventParser<FinishEvent>(finishEventSchema, 'finish');

/**
 * Close a run and emit its metrics; with `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`
 * set, send the run's trail as OpenTelemetry spans there (best effort).
 */
/** `app`: the workflows to serve (the application's workflows module, bound by its generated entry). */
export function createHandler(env: Env, app: readonly Workflow[]) {
  // The engine counts the execution's transitions for the run's cost.
  const base = coreDeps(env, 'finish', app);
  const deps = {
    ...base,
    memory: memoryDeps(env, base.db),
    engine: sfnEngine(env),
    pricingRegion: env.CHAPERONE_PRICING_REGION ?? env.AWS_REGION,
  };
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    ? tracesEndpoint(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
    : undefined;
  const exporter = endpoint
    ? { send: (trace: Parameters<typeof sendTrace>[1]) => sendTrace(endpoint, trace) }
    : undefined;
  return async (event: unknown) => {
    const finishing = parse(event);
    const result = await finishRun(finishing, deps);
    if (exporter) await exportRunTrace(finishing.runId, { ...deps, exporter });
    return result;
  };
}
