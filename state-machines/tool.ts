import type { ValidateFunction } from 'ajv';
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import { WorkflowDefinitionError } from './errors.js';
import { compileSchema } from './schema.js';

/**
 * What a tool may do to the world. Drives policy (an agent may only call tools
 * at or below its access level) and approvals (anything but `read` is gated by
 * default), and is meant to become IAM: infra can give each agent's tool
 * function only the permissions its tools' classes need.
 */
export type AccessClass = 'read' | 'write' | 'external' | 'destructive';

/** Access classes in increasing order of what they can break. */
export const ACCESS_ORDER: readonly AccessClass[] = ['read', 'write', 'external', 'destructive'];

/** What a tool's `run` receives besides its validated arguments. */
export interface ToolContext {
  /** Aborted at the tool's hard timeout: pass it to fetch and SDK calls. */
  signal: AbortSignal;
  runId: string;
  /**
   * Stable across retries, restarts and redrives of this one tool call (derived
   * from the run and the model's tool call id). Pass it to the system you call
   * so it can deduplicate, as payment APIs do with an `Idempotency-Key` header.
   */
  idempotencyKey: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** The previous attempt's error message, if this is a retry. */
  previousError?: string;
}

/** Retry policy for one tool call, run inside the tool step. */
export interface ToolRetryPolicy {
  /** Attempts in all, including the first. @default 3 */
  maxAttempts: number;
  /** First backoff delay; doubles each retry, with full jitter. @default 200 */
  baseDelayMs: number;
  /** Cap on one backoff delay. @default 5000 */
  maxDelayMs: number;
}

/** How a tool's result is cut down before it enters the conversation. */
export interface ToolTrimPolicy {
  /** Size cap of the result as JSON text, in bytes. @default 8192 */
  maxBytes: number;
  /** Keep only these top-level fields (of the object, or of each array item). */
  fields?: readonly string[];
}

/** The TypeScript type of a tool's arguments, derived from its schema. */
export type ArgsOf<S> = S extends JSONSchema ? FromSchema<S> : never;

/** The per-tool circuit breaker, shared by every run. */
export interface ToolBreakerPolicy {
  /** Consecutive failed calls (after retries) that open the circuit. @default 5 */
  failureThreshold: number;
  /** Seconds the circuit stays open before one trial call is let through. @default 60 */
  cooldownSeconds: number;
}

export interface ToolOptions<S> {
  /** `^[a-zA-Z0-9_-]{1,64}$`, unique within an agent. */
  name: string;
  /** What the tool does and when to use it: the model reads this. */
  description: string;
  /** JSON Schema of the arguments, declared `as const`; must compile in ajv strict mode. */
  input: S;
  access: AccessClass;
  /** Hard timeout of one attempt, in seconds. @default 30 */
  timeoutSeconds?: number;
  retry?: Partial<ToolRetryPolicy>;
  /** Name of another tool of the same agent to run (with the same arguments) when every attempt failed. */
  fallback?: string;
  trim?: Partial<ToolTrimPolicy>;
  breaker?: Partial<ToolBreakerPolicy>;
  /**
   * The tool deduplicates by `context.idempotencyKey`: running it again with the
   * same key has no further effect. Only then is a call whose outcome is unknown
   * (the process died mid-call) re-run automatically; otherwise a human is
   * asked. Read tools are always safe to re-run.
   * @default false
   */
  idempotent?: boolean;
  /**
   * Whether a call waits for a human approval first.
   * @default true for write, external and destructive tools; false for read tools
   */
  approval?: boolean;
  run: (args: ArgsOf<NoInfer<S>>, context: ToolContext) => Promise<unknown>;
}

/** A tool as the runtime sees it: validated, with defaults applied and its validator compiled once. */
export interface Tool {
  readonly kind: 'tool';
  readonly name: string;
  readonly description: string;
  readonly input: JSONSchema;
  readonly access: AccessClass;
  readonly timeoutSeconds: number;
  readonly retry: ToolRetryPolicy;
  readonly fallback: string | undefined;
  readonly trim: ToolTrimPolicy;
  readonly breaker: ToolBreakerPolicy;
  readonly approval: boolean;
  /** Safe to re-run after an unknown outcome: a read tool, or one that deduplicates by key. */
  readonly idempotent: boolean;
  readonly validate: ValidateFunction;
  readonly run: (args: unknown, context: ToolContext) => Promise<unknown>;
}

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** Declare a tool. Throws `WorkflowDefinitionError` for a declaration that cannot work. */
export function defineTool<const S extends Readonly<Record<string, unknown>>>(options: ToolOptions<S>): Tool {
  const subject = `tool "${options.name}"`;
  if (!TOOL_NAME.test(options.name)) {
    throw new WorkflowDefinitionError(
      subject,
      'name must match ^[a-zA-Z0-9_-]{1,64}$ (the Anthropic tool name rule)',
    );
  }
  if (!options.description.trim()) throw new WorkflowDefinitionError(subject, 'description is empty');
  if (
    typeof options.input !== 'object' ||
    options.input === null ||
    (options.input as { type?: unknown }).type !== 'object'
  ) {
    throw new WorkflowDefinitionError(
      subject,
      'input schema must be an object schema ({ type: "object", ... })',
    );
  }
  const timeoutSeconds = options.timeoutSeconds ?? 30;
  if (!(timeoutSeconds > 0 && timeoutSeconds <= 900)) {
    throw new WorkflowDefinitionError(subject, `timeoutSeconds must be in (0, 900], got ${timeoutSeconds}`);
  }
  const retry: ToolRetryPolicy = { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 5000, ...options.retry };
  if (!Number.isInteger(retry.maxAttempts) || retry.maxAttempts < 1 || retry.maxAttempts > 10) {
    throw new WorkflowDefinitionError(
      subject,
      `retry.maxAttempts must be an integer in [1, 10], got ${retry.maxAttempts}`,
    );
  }
  const trim: ToolTrimPolicy = { maxBytes: 8192, ...options.trim };
  if (!(trim.maxBytes >= 256))
    throw new WorkflowDefinitionError(subject, 'trim.maxBytes must be at least 256');
  const validate = compileSchema(subject, options.input as Record<string, unknown>);
  // Arguments reach `run` only after `validate` accepted them, so the derived type holds.
  const userRun: unknown = options.run;
  const run = userRun as (args: unknown, context: ToolContext) => Promise<unknown>;
  return {
    kind: 'tool',
    name: options.name,
    description: options.description,
    input: options.input as JSONSchema,
    access: options.access,
    timeoutSeconds,
    retry,
    fallback: options.fallback,
    trim,
    breaker: { failureThreshold: 5, cooldownSeconds: 60, ...options.breaker },
    approval: options.approval ?? options.access !== 'read',
    idempotent: options.access === 'read' || options.idempotent === true,
    validate,
    run,
  };
}

/**
 * Worst-case seconds one tool step can take: every attempt at its timeout plus
 * every backoff at its cap, plus the fallback's own worst case. The Task's
 * `TimeoutSeconds` backstop is set from this.
 */
export function worstCaseSeconds(tool: Tool, fallback?: Tool): number {
  const own =
    tool.retry.maxAttempts * tool.timeoutSeconds +
    ((tool.retry.maxAttempts - 1) * tool.retry.maxDelayMs) / 1000;
  const fb = fallback ? fallback.timeoutSeconds : 0;
  return Math.ceil(own + fb);
}
