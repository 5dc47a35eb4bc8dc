import type { Workflow } from '../workflow.js';

/** The Lambda functions a compiled workflow invokes (ARNs, or CDK tokens standing for them). */
export interface FunctionArns {
  agentStep: string;
  toolStep: string;
  codeStep: string;
  finish: string;
  approvalRequest: string;
}

export type State = Record<string, unknown>;
export type States = Record<string, State>;

/** Where a compiled block goes on, and where its stops and failures go. */
export interface BlockContext {
  workflow: Workflow;
  arns: FunctionArns;
  states: States;
  /** Name of the step counter variable in this scope (Parallel branches get their own). */
  stepVar: string;
  /** State that records a named stop (input: `{ kind: 'stop', reason, detail }`). */
  stopTarget: string;
  /** State that records an unexpected failure (input: `{ error, cause }`). */
  failTarget: string;
}

/** Errors Step Functions may retry on a Lambda task; everything else is terminal. */
export const LAMBDA_RETRYABLE = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
];

/**
 * What a claimed step may be retried on besides Lambda's own errors: a
 * function that died (crash, out of memory, its own timeout) and our named
 * retryable errors. Every step is claim-first, so a retry after a crash never
 * acts twice.
 */
export const STEP_RETRYABLE = [
  'Lambda.Unknown',
  'Runtime.ExitError',
  'Sandbox.Timedout',
  'StoreThrottledError',
  'StoreUnavailableError',
  'ClaimBusyError',
  'MessagingThrottledError',
  'EngineThrottledError',
];

/** `{% expr %}`: a JSONata expression in a JSONata state. */
export const jsonata = (expr: string): string => `{% ${expr} %}`;

/** A JSONata string literal for a value known at compile time. */
export const lit = (value: string): string => JSON.stringify(value);

export function addState(ctx: BlockContext, name: string, state: State): void {
  if (ctx.states[name]) throw new Error(`internal: state "${name}" compiled twice`);
  ctx.states[name] = state;
}

/** `Next: name` or `End: true`. */
export function goTo(next: string | null): State {
  return next === null ? { End: true } : { Next: next };
}

/** A `lambda:invoke` Task whose result is the function's payload. */
export function lambdaTask(functionArn: string, payload: Record<string, unknown>, extra: State = {}): State {
  return {
    Type: 'Task',
    Resource: 'arn:aws:states:::lambda:invoke',
    Arguments: { FunctionName: functionArn, Payload: payload },
    Output: jsonata('$states.result.Payload'),
    ...extra,
  };
}

/** The retry policy for platform errors of a Lambda task (never for our terminal errors). */
export function platformRetry(extraErrors: readonly string[] = []): State[] {
  return [
    {
      ErrorEquals: [...new Set([...LAMBDA_RETRYABLE, ...STEP_RETRYABLE, ...extraErrors])],
      IntervalSeconds: 2,
      MaxAttempts: 4,
      BackoffRate: 2,
      MaxDelaySeconds: 30,
      JitterStrategy: 'FULL',
    },
  ];
}

/**
 * Errors that fail the same way however often they are tried again: a
 * request or record that is wrong. Only these are caught and recorded as the
 * run's failure (`RunFailed`). A platform failure past its retries (a Lambda
 * crash, a throttle, a function timeout, an unexpected error) is not caught:
 * the execution fails at the state that failed, where a redrive
 * (`RedriveExecution`, `chaperone runs redrive <id>`) resumes it, and the
 * claims make the repeat safe.
 */
export const TERMINAL_ERRORS = [
  'ValidationError',
  'NotFoundError',
  'CorruptRecordError',
  'ModelRequestError',
  // A payload reference that cannot be read back, a summary the model returned empty, an
  // embedding of the wrong dimension, a code step's output JSON cannot carry: no retry or
  // redrive changes them.
  'OffloadedPayloadMissingError',
  'NotJsonError',
  'EmptySummaryError',
  'EmbeddingDimensionError',
  // A summary the budget cannot pay for, where the agent step does not turn it into a stop.
  'SummaryRefusedError',
  'States.DataLimitExceeded',
];

/**
 * Errors a handler throws as not retryable that are left uncaught on purpose:
 * a service's refusal an operator can fix (S3 or a memory service refusing a
 * request, AccessDenied among them; a price table without the Region; a
 * knowledge document it cannot read), after which a redrive resumes the
 * execution where it failed. Every not-retryable error class is in this list
 * or in {@link TERMINAL_ERRORS} (`test/unit/state-machines/terminal-errors.test.ts`).
 */
export const REDRIVABLE_REFUSALS = [
  'S3RequestError',
  'MemoryRequestError',
  'KnowledgeDocumentError',
  'PriceTableError',
];

/** Catch the terminal errors and hand `{ error, cause }` to the failure recorder. */
export function catchAll(ctx: BlockContext): State[] {
  return [
    {
      ErrorEquals: TERMINAL_ERRORS,
      Next: ctx.failTarget,
      Output: { error: jsonata('$states.errorOutput.Error'), cause: jsonata('$states.errorOutput.Cause') },
    },
  ];
}
