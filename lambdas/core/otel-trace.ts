/**
 * A run's trail as OpenTelemetry spans, in the OTLP/JSON encoding of an
 * `ExportTraceServiceRequest` (opentelemetry-proto's
 * `collector/trace/v1/trace_service.proto`), following the GenAI semantic
 * conventions (semantic-conventions' `docs/gen-ai`, agent spans and the
 * Anthropic page of semantic-conventions v1.42): a root `invoke_workflow` span for the run
 * (a workflow groups agent steps), an `invoke_agent` span per agent step, and
 * under it a `chat` span per model call and an `execute_tool` span per tool
 * call, and an `approval` span for each wait on a human; rejections, budget
 * refusals and guardrails are events on the run's span. Token usage follows
 * the Anthropic rule: `gen_ai.usage.input_tokens` counts cache reads and
 * writes too (they are also given apart); a failed operation carries
 * `error.type`. Cost is `chaperone.cost_usd` (the conventions have no cost
 * attribute).
 *
 * Ids are derived from the run id and the trail's deterministic event ids,
 * so exporting a run twice sends the same spans.
 */
import type { StoredTrailEvent } from './run-records.js';
import { sha256 } from './sha256.js';

type AnyValue =
  | { stringValue: string }
  | { boolValue: boolean }
  | { intValue: string }
  | { doubleValue: number }
  | { arrayValue: { values: AnyValue[] } };
export interface KeyValue {
  key: string;
  value: AnyValue;
}
export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  events: Array<{ timeUnixNano: string; name: string; attributes: KeyValue[] }>;
  status: { code: number; message?: string };
}
/** `ExportTraceServiceRequest` in OTLP/JSON. */
export interface OtlpTraceRequest {
  resourceSpans: Array<{
    resource: { attributes: KeyValue[] };
    scopeSpans: Array<{ scope: { name: string; version: string }; spans: OtlpSpan[] }>;
  }>;
}

/** The run as `GET /runs/{id}` answers it (what the export reads). */
export interface TracedRun {
  runId: string;
  workflow: string;
  status: string;
  stopReason?: string;
  tenant?: string;
  createdAt?: string;
  updatedAt?: string;
  trail: StoredTrailEvent[];
}

const SPAN_KIND = { internal: 1, client: 3 } as const;
const STATUS = { unset: 0, ok: 1, error: 2 } as const;
/** The instrumentation scope of the exported spans. */
export const TRACE_SCOPE = { name: 'chaperone', version: '1' };

const hex = (input: string, bytes: number) => sha256(input).slice(0, bytes * 2);
/** The run's trace id: 16 bytes derived from the run id. */
export const traceIdOf = (runId: string) => hex(`trace:${runId}`, 16);
const spanIdOf = (runId: string, key: string) => hex(`span:${runId}:${key}`, 8);

function attr(key: string, value: string | number | boolean | readonly string[] | undefined): KeyValue[] {
  if (value === undefined) return [];
  if (Array.isArray(value))
    return [{ key, value: { arrayValue: { values: value.map((s) => ({ stringValue: String(s) })) } } }];
  if (typeof value === 'boolean') return [{ key, value: { boolValue: value } }];
  if (typeof value === 'number')
    return [{ key, value: Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value } }];
  return [{ key, value: { stringValue: String(value) } }];
}
const attrs = (
  entries: Record<string, string | number | boolean | readonly string[] | undefined>,
): KeyValue[] => Object.entries(entries).flatMap(([k, v]) => attr(k, v));

const nanos = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;
const msOf = (iso: string | undefined, fallback: number) => {
  const t = iso ? Date.parse(iso) : Number.NaN;
  return Number.isFinite(t) ? t : fallback;
};

/** The GenAI provider name of a model id (`gen_ai.provider.name`). */
export function providerOf(model: string): string {
  return /^(us\.|eu\.|apac\.|global\.)?anthropic\.|:\d+$|^arn:aws:bedrock/.test(model)
    ? 'aws.bedrock'
    : 'anthropic';
}

/** The low-cardinality class of an error message `Name: message` (its name), for `error.type`. */
function errorType(message: string | undefined, fallback: string): string {
  const name = /^([A-Za-z][\w.]*)(?::|$)/.exec(message ?? '')?.[1];
  return name ?? fallback;
}

/** A run's trail as one OTLP/JSON trace. */
export function traceOfRun(run: TracedRun): OtlpTraceRequest {
  const traceId = traceIdOf(run.runId);
  const rootId = spanIdOf(run.runId, 'run');
  const trail = run.trail;
  const first = msOf(trail[0]?.at ?? run.createdAt, Date.now());
  const started = msOf(run.createdAt, first);
  const finished = trail.find((e) => e.type === 'run_finished');
  const last = trail.reduce((t, e) => Math.max(t, msOf(e.at, t)), started);
  const end = finished ? msOf(finished.at, last) : last;
  const common = { 'gen_ai.conversation.id': run.runId };
  const spans: OtlpSpan[] = [];
  const rootEvents: OtlpSpan['events'] = [];

  /** One `invoke_agent` span per agent step, spanning its model and tool calls. */
  interface AgentStep {
    spanId: string;
    model: string;
    startMs: number;
    endMs: number;
    input: number;
    output: number;
    cacheRead: number;
    cacheWrite: number;
    cost: number;
    calls: number;
  }
  const agents = new Map<string, AgentStep>();
  for (const e of trail) {
    if (e.type !== 'model_call') continue;
    const at = msOf(e.at, end);
    const a = agents.get(e.step) ?? {
      spanId: spanIdOf(run.runId, `agent:${e.step}`),
      model: e.model,
      startMs: at - e.durationMs,
      endMs: at,
      input: 0,
      output: 0,
      cacheRead: 0,
      cacheWrite: 0,
      cost: 0,
      calls: 0,
    };
    a.startMs = Math.min(a.startMs, at - e.durationMs);
    a.endMs = Math.max(a.endMs, at);
    a.input += e.inputTokens + e.cacheReadTokens + e.cacheWriteTokens;
    a.output += e.outputTokens;
    a.cacheRead += e.cacheReadTokens;
    a.cacheWrite += e.cacheWriteTokens;
    a.cost += e.costUsd;
    a.calls += 1;
    agents.set(e.step, a);
  }
  const parentOf = (step: string | undefined) => (step ? agents.get(step)?.spanId : undefined) ?? rootId;
  const stretch = (step: string | undefined, startMs: number, endMs: number) => {
    const a = step ? agents.get(step) : undefined;
    if (!a) return;
    a.startMs = Math.min(a.startMs, startMs);
    a.endMs = Math.max(a.endMs, endMs);
  };
  const child = (
    key: string,
    parentSpanId: string,
    name: string,
    kind: number,
    startMs: number,
    endMs: number,
    attributes: KeyValue[],
    status: OtlpSpan['status'] = { code: STATUS.unset },
    events: OtlpSpan['events'] = [],
  ) =>
    spans.push({
      traceId,
      spanId: spanIdOf(run.runId, key),
      parentSpanId,
      name,
      kind,
      startTimeUnixNano: nanos(startMs),
      endTimeUnixNano: nanos(Math.max(startMs, endMs)),
      attributes,
      events,
      status,
    });
  const requested = new Map<string, { at: number; step: string }>();
  let input = 0;
  let output = 0;
  let cost = 0;

  for (const e of trail) {
    const at = msOf(e.at, end);
    switch (e.type) {
      case 'model_call': {
        const inputTokens = e.inputTokens + e.cacheReadTokens + e.cacheWriteTokens;
        input += inputTokens;
        output += e.outputTokens;
        cost += e.costUsd;
        child(
          e.id,
          parentOf(e.step),
          `chat ${e.model}`,
          SPAN_KIND.client,
          at - e.durationMs,
          at,
          attrs({
            'gen_ai.operation.name': 'chat',
            'gen_ai.provider.name': providerOf(e.model),
            'gen_ai.request.model': e.model,
            'gen_ai.response.model': e.status === 'ok' ? e.model : undefined,
            'gen_ai.agent.name': e.step,
            ...common,
            'gen_ai.usage.input_tokens': inputTokens,
            'gen_ai.usage.output_tokens': e.outputTokens,
            'gen_ai.usage.cache_read.input_tokens': e.cacheReadTokens,
            'gen_ai.usage.cache_creation.input_tokens': e.cacheWriteTokens,
            'gen_ai.response.finish_reasons': e.stopReason ? [e.stopReason] : undefined,
            'error.type': e.status === 'ok' ? undefined : errorType(e.error, 'model_call_failed'),
            'chaperone.cost_usd': e.costUsd,
            'chaperone.step': e.step,
            'chaperone.iteration': e.iteration,
            'chaperone.tools_offered': e.toolsOffered,
            'chaperone.tools_chosen': e.toolsChosen,
            'chaperone.reserved_tokens': e.reservedTokens,
          }),
          e.status === 'ok'
            ? { code: STATUS.unset }
            : { code: STATUS.error, message: e.error ?? 'model call failed' },
        );
        break;
      }
      case 'tool_call': {
        const failed = e.status === 'error' || e.status === 'circuit_open';
        const lastError = e.attempts.findLast((a) => a.status !== 'ok');
        stretch(e.step, at - e.durationMs, at);
        child(
          e.id,
          parentOf(e.step),
          `execute_tool ${e.tool}`,
          SPAN_KIND.internal,
          at - e.durationMs,
          at,
          attrs({
            'gen_ai.operation.name': 'execute_tool',
            'gen_ai.tool.name': e.tool,
            'gen_ai.tool.call.id': e.toolUseId,
            'gen_ai.tool.type': 'function',
            ...common,
            'error.type': failed
              ? e.status === 'circuit_open'
                ? 'circuit_open'
                : (lastError?.status ?? e.status)
              : undefined,
            'chaperone.step': e.step,
            'chaperone.tool.status': e.status,
            'chaperone.tool.attempts': e.attempts.length,
            'chaperone.tool.result_bytes': e.resultBytes,
            'chaperone.tool.original_bytes': e.originalBytes,
            'chaperone.tool.trimmed': e.trimmed,
            'chaperone.tool.fallback': e.fallbackTool,
          }),
          failed
            ? { code: STATUS.error, message: e.attempts.at(-1)?.error ?? e.status }
            : { code: STATUS.unset },
          e.attempts
            .filter((a) => a.status !== 'ok')
            .map((a) => ({
              timeUnixNano: nanos(at),
              name: 'exception',
              attributes: attrs({
                'exception.type': a.status,
                'exception.message': a.error ?? a.status,
                'chaperone.tool.attempt': a.attempt,
              }),
            })),
        );
        break;
      }
      case 'approval_requested':
        requested.set(e.approvalId, { at, step: e.step });
        break;
      case 'approval_decided': {
        const from = requested.get(e.approvalId)?.at ?? at;
        stretch(e.step, from, at);
        child(
          `approval:${e.approvalId}`,
          parentOf(e.step),
          `approval ${e.approvalId}`,
          SPAN_KIND.internal,
          from,
          at,
          attrs({
            ...common,
            'chaperone.approval.id': e.approvalId,
            'chaperone.approval.decision': e.decision,
            'chaperone.approval.decided_by': e.decidedBy,
            'chaperone.approval.comment': e.comment,
            'chaperone.step': e.step,
          }),
        );
        break;
      }
      case 'tool_rejected':
        rootEvents.push({
          timeUnixNano: nanos(at),
          name: 'chaperone.tool_rejected',
          attributes: attrs({
            'gen_ai.tool.name': e.tool,
            'chaperone.rule': e.rule,
            'chaperone.message': e.message,
          }),
        });
        break;
      case 'budget_refused':
        rootEvents.push({
          timeUnixNano: nanos(at),
          name: 'chaperone.budget_refused',
          attributes: attrs({ 'chaperone.limit': e.limit, 'chaperone.step': e.step }),
        });
        break;
      case 'guardrail':
        rootEvents.push({
          timeUnixNano: nanos(at),
          name: 'chaperone.guardrail',
          attributes: attrs({ 'chaperone.rule': e.rule, 'chaperone.message': e.message }),
        });
        break;
      default:
        break;
    }
  }
  // Approvals still waiting: the span runs to the trail's end.
  for (const [id, { at, step }] of requested) {
    if (spans.some((s) => s.spanId === spanIdOf(run.runId, `approval:${id}`))) continue;
    stretch(step, at, end);
    child(
      `approval:${id}`,
      parentOf(step),
      `approval ${id}`,
      SPAN_KIND.internal,
      at,
      end,
      attrs({ ...common, 'chaperone.approval.id': id, 'chaperone.approval.decision': 'pending' }),
    );
  }
  const agentSpans: OtlpSpan[] = [...agents].map(([step, a]) => ({
    traceId,
    spanId: a.spanId,
    parentSpanId: rootId,
    name: `invoke_agent ${step}`,
    kind: SPAN_KIND.internal,
    startTimeUnixNano: nanos(a.startMs),
    endTimeUnixNano: nanos(Math.max(a.startMs, a.endMs)),
    attributes: attrs({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.provider.name': providerOf(a.model),
      'gen_ai.agent.name': step,
      'gen_ai.request.model': a.model,
      ...common,
      'gen_ai.usage.input_tokens': a.input,
      'gen_ai.usage.output_tokens': a.output,
      'gen_ai.usage.cache_read.input_tokens': a.cacheRead,
      'gen_ai.usage.cache_creation.input_tokens': a.cacheWrite,
      'chaperone.cost_usd': Math.round(a.cost * 1e6) / 1e6,
      'chaperone.model_calls': a.calls,
    }),
    events: [],
    status: { code: STATUS.unset },
  }));
  const failed = run.status === 'FAILED';
  spans.unshift(
    {
      traceId,
      spanId: rootId,
      name: `invoke_workflow ${run.workflow}`,
      kind: SPAN_KIND.internal,
      startTimeUnixNano: nanos(started),
      endTimeUnixNano: nanos(Math.max(started, end)),
      attributes: attrs({
        'gen_ai.operation.name': 'invoke_workflow',
        'gen_ai.workflow.name': run.workflow,
        ...common,
        'error.type': failed ? (run.stopReason ?? 'RunFailed') : undefined,
        'chaperone.run.id': run.runId,
        'chaperone.run.status': run.status,
        'chaperone.run.stop_reason': run.stopReason,
        'chaperone.tenant': run.tenant,
        'gen_ai.usage.input_tokens': input,
        'gen_ai.usage.output_tokens': output,
        'chaperone.cost_usd': Math.round(cost * 1e6) / 1e6,
      }),
      events: rootEvents,
      status: failed
        ? { code: STATUS.error, message: run.stopReason ?? 'run failed' }
        : { code: STATUS.unset },
    },
    ...agentSpans,
  );
  return {
    resourceSpans: [
      {
        resource: { attributes: attrs({ 'service.name': 'chaperone', 'chaperone.workflow': run.workflow }) },
        scopeSpans: [{ scope: TRACE_SCOPE, spans }],
      },
    ],
  };
}
