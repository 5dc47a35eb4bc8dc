import type { ValidateFunction } from 'ajv';
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import type { Agent } from './agent.js';
import { WorkflowDefinitionError } from './errors.js';
import { compileSchema } from './schema.js';

/** The tool an agent step that declares `passes` ends with: its arguments are what the step passes on. */
export const PASS_ON_TOOL = 'pass_on';

/** What a step with `passes: S` hands on, derived from its schema: `Passed<typeof schema>`. */
export type Passed<S> = S extends JSONSchema ? FromSchema<S> : never;

/** A step's declared output: the schema, its validator (ajv strict, compiled once) and its fields. */
export interface PassesSpec {
  readonly schema: JSONSchema;
  readonly validate: ValidateFunction;
  readonly fields: readonly string[];
}

/**
 * What a step's code sees: the run's input and the outputs of exactly the steps
 * it declared in `needs` — nothing else travels forward (the seed's chain rule).
 */
export interface StepContext<I = unknown> {
  runId: string;
  input: I;
  outputs: Readonly<Record<string, unknown>>;
}

interface StepBase {
  /** Unique within the workflow: `^[a-zA-Z][a-zA-Z0-9_-]{0,47}$`. State names derive from it. */
  readonly id: string;
  /** Ids of earlier steps whose outputs this step reads. */
  readonly needs: readonly string[];
}

export interface AgentStep extends StepBase {
  readonly kind: 'agent';
  readonly agent: Agent;
  /** The task handed to the agent as its first user message. */
  readonly prompt: (context: StepContext) => string;
  /**
   * What this step passes on, when declared: the agent ends the step by calling
   * `pass_on` with exactly this shape (checked by ajv; a failed check goes back
   * to the model like a tool call's), and only that object travels to the
   * steps that need it (`needs: ['<id>.<field>']` reads one field).
   */
  readonly passes: PassesSpec | undefined;
}

export interface CodeStep extends StepBase {
  readonly kind: 'code';
  /** Plain code instead of a model call: deterministic work stays deterministic. */
  readonly run: (context: StepContext) => Promise<unknown>;
}

export interface ChainStep {
  readonly kind: 'chain';
  readonly id: string;
  readonly steps: readonly Step[];
}

export interface ParallelStep {
  readonly kind: 'parallel';
  readonly id: string;
  /** Independent branches; a branch may not read a sibling's output. */
  readonly branches: readonly Step[];
}

export interface RouteStep extends StepBase {
  readonly kind: 'route';
  /** Chooses a branch with code, never with a model. Returns a key of `branches`. */
  readonly choose: (context: StepContext) => string | Promise<string>;
  readonly branches: Readonly<Record<string, Step>>;
}

/** What happens when a gate times out. */
export type ApprovalTimeoutOutcome = 'reject' | 'escalate';

export interface ApprovalGateOptions {
  /** Who may decide (email addresses). */
  approvers: readonly string[];
  /** How long the gate waits. @default 86400 (one day) */
  timeoutSeconds?: number;
  /** @default 'reject' */
  onTimeout?: ApprovalTimeoutOutcome;
  /** Approvers asked when the first ones did not answer in time (onTimeout: 'escalate'). */
  escalateTo?: readonly string[];
  /**
   * Email the approvers a reminder this many seconds before the gate times
   * out (recorded in the trail as `approval_reminded`). Must be below
   * `timeoutSeconds`. @default no reminder
   */
  remindBeforeSeconds?: number;
}

export interface ApprovalStep
  extends StepBase,
    Required<Omit<ApprovalGateOptions, 'escalateTo' | 'remindBeforeSeconds'>> {
  readonly kind: 'approval';
  readonly escalateTo: readonly string[];
  /** 0: no reminder. */
  readonly remindBeforeSeconds: number;
  /** What the approver is asked to approve, built from the declared outputs. */
  readonly summary: (context: StepContext) => string;
}

export type Step = AgentStep | CodeStep | ChainStep | ParallelStep | RouteStep | ApprovalStep;

const STEP_ID = /^[a-zA-Z][a-zA-Z0-9_-]{0,47}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

function checkId(kind: string, id: string): void {
  if (!STEP_ID.test(id))
    throw new WorkflowDefinitionError(`${kind} step "${id}"`, 'id must match ^[a-zA-Z][a-zA-Z0-9_-]{0,47}$');
}

/** An agent step: the agent runs its tool loop until it gives a final answer. */
export function agent<const P extends JSONSchema = never>(
  id: string,
  options: {
    agent: Agent;
    prompt: (context: StepContext) => string;
    /** Step ids, or `<step>.<field>` for one field a step passes on. */
    needs?: readonly string[];
    /** JSON Schema (`as const`) of what this step passes on: an object with `properties`. */
    passes?: P;
  },
): AgentStep {
  checkId('agent', id);
  return {
    kind: 'agent',
    id,
    agent: options.agent,
    prompt: options.prompt,
    needs: options.needs ?? [],
    passes:
      options.passes === undefined
        ? undefined
        : passesSpec(`agent step "${id}"`, options.passes, options.agent),
  };
}

function passesSpec(subject: string, schema: JSONSchema, of: Agent): PassesSpec {
  const properties = typeof schema === 'object' ? Reflect.get(schema, 'properties') : undefined;
  if (
    typeof schema !== 'object' ||
    Reflect.get(schema, 'type') !== 'object' ||
    typeof properties !== 'object' ||
    properties === null
  )
    throw new WorkflowDefinitionError(
      subject,
      'passes must be an object schema with properties (the fields it passes on)',
    );
  if (of.tool(PASS_ON_TOOL))
    throw new WorkflowDefinitionError(
      subject,
      `its agent has a tool named "${PASS_ON_TOOL}", the name a step that passes on reserves`,
    );
  const validate = compileSchema(`${subject} passes`, schema as Record<string, unknown>);
  return { schema, validate, fields: Object.keys(properties) };
}

/** A code step: a plain function, run in its own Lambda invocation. Its return value is its output. */
export function code(id: string, options: { run: CodeStep['run']; needs?: readonly string[] }): CodeStep {
  checkId('code', id);
  return { kind: 'code', id, run: options.run, needs: options.needs ?? [] };
}

/** Steps in sequence. */
export function chain(id: string, ...steps: Step[]): ChainStep {
  checkId('chain', id);
  if (steps.length === 0) throw new WorkflowDefinitionError(`chain "${id}"`, 'has no steps');
  return { kind: 'chain', id, steps };
}

/** Independent branches at the same time; the workflow goes on when all are done. */
export function parallel(id: string, ...branches: Step[]): ParallelStep {
  checkId('parallel', id);
  if (branches.length < 2)
    throw new WorkflowDefinitionError(`parallel "${id}"`, 'needs at least two branches');
  return { kind: 'parallel', id, branches };
}

/** Code picks one branch (for example a small sub-agent) by key. */
export function route(
  id: string,
  options: { choose: RouteStep['choose']; branches: Record<string, Step>; needs?: readonly string[] },
): RouteStep {
  checkId('route', id);
  if (Object.keys(options.branches).length === 0)
    throw new WorkflowDefinitionError(`route "${id}"`, 'has no branches');
  return {
    kind: 'route',
    id,
    choose: options.choose,
    branches: options.branches,
    needs: options.needs ?? [],
  };
}

/** A human gate: the run waits (minutes or days) until an approver decides. */
export function approval(
  id: string,
  options: ApprovalGateOptions & { summary: ApprovalStep['summary']; needs?: readonly string[] },
): ApprovalStep {
  checkId('approval', id);
  const gate = checkGate(`approval step "${id}"`, options);
  return { kind: 'approval', id, summary: options.summary, needs: options.needs ?? [], ...gate };
}

/** Validate gate options and apply defaults. */
export function checkGate(
  subject: string,
  options: ApprovalGateOptions,
): {
  approvers: readonly string[];
  timeoutSeconds: number;
  onTimeout: ApprovalTimeoutOutcome;
  escalateTo: readonly string[];
  remindBeforeSeconds: number;
} {
  if (options.approvers.length === 0)
    throw new WorkflowDefinitionError(subject, 'needs at least one approver');
  for (const a of [...options.approvers, ...(options.escalateTo ?? [])]) {
    if (!EMAIL.test(a)) throw new WorkflowDefinitionError(subject, `approver "${a}" is not an email address`);
  }
  const timeoutSeconds = options.timeoutSeconds ?? 86_400;
  if (!(Number.isInteger(timeoutSeconds) && timeoutSeconds >= 1 && timeoutSeconds <= 31_536_000)) {
    throw new WorkflowDefinitionError(
      subject,
      `timeoutSeconds must be an integer in [1, 31536000], got ${timeoutSeconds}`,
    );
  }
  const onTimeout = options.onTimeout ?? 'reject';
  if (onTimeout === 'escalate' && (options.escalateTo ?? []).length === 0) {
    throw new WorkflowDefinitionError(subject, "onTimeout 'escalate' needs escalateTo approvers");
  }
  const remindBeforeSeconds = options.remindBeforeSeconds ?? 0;
  if (
    options.remindBeforeSeconds !== undefined &&
    !(
      Number.isInteger(remindBeforeSeconds) &&
      remindBeforeSeconds >= 1 &&
      remindBeforeSeconds < timeoutSeconds
    )
  ) {
    throw new WorkflowDefinitionError(
      subject,
      `remindBeforeSeconds must be an integer in [1, timeoutSeconds - 1] (timeoutSeconds is ${timeoutSeconds}), got ${JSON.stringify(options.remindBeforeSeconds)}`,
    );
  }
  return {
    approvers: options.approvers,
    timeoutSeconds,
    onTimeout,
    escalateTo: options.escalateTo ?? [],
    remindBeforeSeconds,
  };
}
