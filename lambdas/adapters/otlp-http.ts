/**
 * OTLP/HTTP with the JSON encoding: sends an `ExportTraceServiceRequest` to a
 * collector (an OpenTelemetry Collector, the ADOT Lambda layer's collector on
 * localhost:4318 that forwards to X-Ray, Langfuse, Honeycomb, …). Used by the
 * CLI's `runs trace --otlp` and by the finish function when
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set.
 */
import type { OtlpTraceRequest } from '../core/otel-trace.js';

/** A trace that could not be exported; the message names the collector and why. */
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
