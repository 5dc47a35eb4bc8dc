/**
 * `chaperone runs trace <runId> --otlp <url> | --out <file>`: a run's trail as
 * OpenTelemetry spans (GenAI semantic conventions, `lambdas/core/otel-trace.ts`)
 * sent to an OTLP/HTTP collector as JSON, or written to a file. Nothing is
 * written or sent until the run was read and its trace built; a collector that
 * cannot be reached or refuses the spans is named with the reason.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { sendTrace, TraceExportError, tracesEndpoint } from '../../lambdas/adapters/otlp-http.js';
import { type TracedRun, traceIdOf, traceOfRun } from '../../lambdas/core/otel-trace.js';

export { TraceExportError };

/** Read the run from the API, build its trace, then export it; returns the line to print. */
export async function traceCommand(
  runId: string,
  options: { otlp?: string; out?: string },
  readRun: (runId: string) => Promise<{ status: number; body: unknown }>,
): Promise<string> {
  if ((options.otlp === undefined) === (options.out === undefined))
    throw new TraceExportError('runs trace needs exactly one of --otlp <collector url> or --out <file>');
  const endpoint = options.otlp !== undefined ? tracesEndpoint(options.otlp) : undefined;
  const { status, body } = await readRun(runId);
  const run = body as Partial<TracedRun> & { message?: string };
  if (status === 404) throw new TraceExportError(`run ${runId} does not exist; nothing was exported`);
  if (status !== 200 || !Array.isArray(run.trail) || typeof run.workflow !== 'string')
    throw new TraceExportError(
      `GET /runs/${runId} answered ${status}: ${run.message ?? 'no trail'}; nothing was exported`,
    );
  const trace = traceOfRun(run as TracedRun);
  const spans = trace.resourceSpans[0]?.scopeSpans[0]?.spans.length ?? 0;
  const traceId = traceIdOf(runId);
  if (endpoint) {
    await sendTrace(endpoint, trace);
    return `sent ${spans} spans of run ${runId} to ${endpoint} (trace ${traceId})`;
  }
  const file = resolve(options.out ?? '');
  const tmp = resolve(dirname(file), `.${Date.now()}-${process.pid}.trace.tmp`);
  writeFileSync(tmp, `${JSON.stringify(trace, null, 2)}\n`);
  renameSync(tmp, file);
  return `wrote ${spans} spans of run ${runId} to ${file} (trace ${traceId}, OTLP/JSON ExportTraceServiceRequest)`;
}
