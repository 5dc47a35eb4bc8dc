/**
 * `chaperone runs trace <runId> --otlp <url> | --out <file>`: a run's trail as
 * OpenTelemetry spans (GenAI semantic conventions, `lambdas/core/otel-trace.ts`)
 * sent to an OTLP/HTTP collector as JSON, or written to a file. Nothing is
 * written or sent until the run was read and its trace built; a collector that
 * cannot be reached or refuses the spans is named with the reason.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  type OtlpTraceRequest,
  type TracedRun,
  traceIdOf,
  traceOfRun,
} from '../../lambdas/core/otel-trace.js';

/** A failure of the trace command; the message is for the user. */
export class TraceExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceExportError';
  }
}

/**
 * The traces endpoint for `--otlp`: a collector's base URL gets OTLP/HTTP's
 * `/v1/traces` (as `OTEL_EXPORTER_OTLP_ENDPOINT`); a URL with a path is used as
 * it is (as `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
 */
export function tracesEndpoint(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TraceExportError(
      `--otlp ${raw} is not a URL; give the collector's OTLP/HTTP address, e.g. http://127.0.0.1:4318`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TraceExportError(`--otlp ${raw}: OTLP/HTTP needs an http or https URL, not ${url.protocol}`);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/v1/traces';
  return url.toString();
}

/** Send an OTLP/JSON trace request; resolves with the spans the collector accepted. */
export async function sendTrace(
  endpoint: string,
  trace: OtlpTraceRequest,
  signal?: AbortSignal,
): Promise<number> {
  const spans = trace.resourceSpans.reduce(
    (n, r) => n + r.scopeSpans.reduce((m, s) => m + s.spans.length, 0),
    0,
  );
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: 'POST',
      body: JSON.stringify(trace),
      headers: { 'content-type': 'application/json' },
      signal: signal ?? AbortSignal.timeout(10_000),
    });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    const why =
      cause instanceof Error
        ? `${(cause as NodeJS.ErrnoException).code ?? cause.name}: ${cause.message}`
        : String(cause);
    throw new TraceExportError(
      `could not reach the OTLP collector at ${endpoint} (${why}); nothing was sent`,
    );
  }
  const text = await res.text();
  if (!res.ok)
    throw new TraceExportError(
      `the OTLP collector at ${endpoint} refused the trace: ${res.status} ${res.statusText} ${text.slice(0, 300)}`.trim(),
    );
  // A 200 may still reject some spans (OTLP partial success).
  let rejected = 0;
  let message = '';
  try {
    const body = JSON.parse(text || '{}') as {
      partialSuccess?: { rejectedSpans?: string | number; errorMessage?: string };
    };
    rejected = Number(body.partialSuccess?.rejectedSpans ?? 0);
    message = body.partialSuccess?.errorMessage ?? '';
  } catch {
    // an empty or non-JSON 2xx body means every span was accepted
  }
  if (rejected > 0)
    throw new TraceExportError(
      `the OTLP collector at ${endpoint} rejected ${rejected} of ${spans} spans: ${message}`,
    );
  return spans;
}

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
