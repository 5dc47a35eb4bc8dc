import type { Log, MetricsSink } from './deps.js';
import { type OtlpTraceRequest, traceOfRun } from './otel-trace.js';
import type { RunStore } from './run-records.js';

/** Sends a trace to an OpenTelemetry collector (OTLP/HTTP in AWS and locally). */
export interface TraceExporter {
  /** Resolves with the spans accepted; rejects naming the collector and why. */
  send(trace: OtlpTraceRequest): Promise<number>;
}

/**
 * Export a closed run's trail as its trace (`traceOfRun`). Best effort: a
 * collector that is down never fails the run; it is logged and counted
 * (`TraceExportFailures`). Span ids are deterministic, so the export of a
 * retried finish sends the same spans again.
 */
export async function exportRunTrace(
  runId: string,
  deps: { store: RunStore; exporter: TraceExporter; log: Log; metrics: MetricsSink },
): Promise<boolean> {
  const meta = await deps.store.getRun(runId);
  if (!meta) return false;
  const trail = await deps.store.listEvents(runId);
  try {
    await deps.exporter.send(traceOfRun({ ...meta, trail }));
    return true;
  } catch (err) {
    deps.log.warn('run trace not exported', {
      runId,
      reason: err instanceof Error ? err.message : String(err),
    });
    deps.metrics.count('TraceExportFailures', 1);
    return false;
  }
}
