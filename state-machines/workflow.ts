import type { ValidateFunction } from 'ajv';
import type { JSONSchema } from 'json-schema-to-ts';
import type { Agent } from './agent.js';
import {
  checkEdges,
  checkExtensions,
  checkMargin,
  type ExtensionOptions,
  type Extensions,
  type FinalAnswerMargin,
  LIMIT_NAMES,
  type LimitEdge,
  type LimitEdges,
  type LimitName,
} from './edges.js';
import { WorkflowDefinitionError } from './errors.js';
import { checkGuardrails, type GuardrailOptions, type GuardrailSettings } from './guardrail-settings.js';
import {
  checkEpisodicMemory,
  type EpisodicMemory,
  type EpisodicMemoryOptions,
  type KnowledgeSource,
} from './memory.js';
import { compileSchema } from './schema.js';
import { type ApprovalGateOptions, checkGate, type Step } from './steps.js';
import type { ArgsOf, Tool } from './tool.js';

/** Run-wide caps. Every stop at one of them has a named error. */
export interface WorkflowLimits {
  /** Agent iterations (model calls) in the whole run. @default 20 */
  maxSteps: number;
  /** Input + output tokens in the whole run. @default 100000 */
  maxTokens: number;
  /** Model spend in the whole run, USD. @default 5 */
  maxCostUsd: number;
  /** Wall-clock limit of the run. @default 900 */
  timeLimitSeconds: number;
  /** Failed tool calls across tools after which the run's breaker opens (`CircuitOpen`). @default 8 */
  maxToolFailures: number;
}

/** Caps shared by every run of a workflow in one UTC day, optionally per tenant. */
export interface DailyCaps {
  /** Tokens all runs of the workflow may use per day. */
  tokens?: number;
  /** USD all runs of the workflow may spend per day. */
  costUsd?: number;
  /** The same caps per tenant (the `tenant` field of `POST /runs`). */
  perTenant?: { tokens?: number; costUsd?: number };
}

/**
 * A business check on a run's input, written by the workflow author: return a
 * message to reject (it names the rule to the caller), or undefined to accept.
 */
export type InputValidator<I> = (input: I) => string | undefined | Promise<string | undefined>;

export interface WorkflowOptions<S> {
  /** `^[a-zA-Z][a-zA-Z0-9-]{0,47}$`; the API's `workflow` field and part of the state machine name. */
  name: string;
  description: string;
  /** JSON Schema of the run input, `as const`. */
  input: S;
  /** The steps, run in sequence. */
  steps: readonly Step[];
  limits?: Partial<WorkflowLimits>;
  /**
   * What happens when the next model call would pass a limit, per limit
   * (`steps`, `tokens`, `cost`, `time`): `fail` (the named stop, the default),
   * `final-answer` (one last call with no tools, paid from `finalAnswerMargin`)
   * or `ask` (an approval to extend the limit, through `approvals`). An agent's
   * own `edges` win for its steps.
   */
  edges?: Partial<Record<LimitName, LimitEdge>>;
  /** How far an `ask` edge may extend each limit: `{ by, max }` (offered, most in all). */
  extensions?: ExtensionOptions;
  /**
   * What a `final-answer` edge holds back from the limits for the last call.
   * @default a fifth of maxTokens and of maxCostUsd, and one step
   */
  finalAnswerMargin?: { tokens?: number; costUsd?: number };
  /** Optional caps per workflow, and per tenant, per UTC day. */
  dailyCaps?: DailyCaps;
  /** Named business checks on the input; a rejection names the rule. */
  validators?: Readonly<Record<string, InputValidator<ArgsOf<NoInfer<S>>>>>;
  /** Default gate for tool calls that need approval (write, external, destructive). */
  approvals?: ApprovalGateOptions & { onReject?: 'feedback' | 'stop' };
  /** The classifier tier behind the heuristics, and what its failure means. @default heuristics only */
  guardrails?: GuardrailOptions;
  /**
   * Episodic memory: each finished run is recorded for its workflow and tenant,
   * and a new run's agent steps get the most similar past runs as examples.
   */
  memory?: EpisodicMemoryOptions;
}

export interface Workflow {
  readonly kind: 'workflow';
  readonly name: string;
  readonly description: string;
  readonly input: JSONSchema;
  readonly validateInput: ValidateFunction;
  readonly steps: readonly Step[];
  readonly limits: WorkflowLimits;
  /** The workflow's edge of each limit (agents may choose their own: see `edgeOf`). */
  readonly edges: LimitEdges;
  readonly extensions: Extensions;
  /** Held back from the limits when any edge of the workflow or its agents is `final-answer`. */
  readonly finalAnswerMargin: FinalAnswerMargin | undefined;
  /** The edge of `limit` for an agent step: the agent's own, else the workflow's. */
  edgeOf(stepId: string, limit: LimitName): LimitEdge;
  readonly dailyCaps: DailyCaps;
  readonly validators: Readonly<Record<string, InputValidator<unknown>>>;
  readonly approvals:
    | {
        approvers: readonly string[];
        timeoutSeconds: number;
        onTimeout: 'reject' | 'escalate';
        escalateTo: readonly string[];
        /** 0: no reminder. */
        remindBeforeSeconds: number;
        onReject: 'feedback' | 'stop';
      }
    | undefined;
  readonly guardrails: GuardrailSettings;
  /** Episodic memory, when declared. */
  readonly memory: EpisodicMemory | undefined;
  /** Every step by id, nested ones included. */
  readonly stepsById: ReadonlyMap<string, Step>;
  /** The agent of an agent step. */
  agentOf(stepId: string): Agent | undefined;
}

const WORKFLOW_NAME = /^[a-zA-Z][a-zA-Z0-9-]{0,47}$/;

export const DEFAULT_LIMITS: WorkflowLimits = {
  maxSteps: 20,
  maxTokens: 100_000,
  maxCostUsd: 5,
  timeLimitSeconds: 900,
  maxToolFailures: 8,
};

/** Declare a workflow. Throws `WorkflowDefinitionError` for a declaration that cannot work. */
export function defineWorkflow<const S extends Readonly<Record<string, unknown>>>(
  options: WorkflowOptions<S>,
): Workflow {
  const subject = `workflow "${options.name}"`;
  if (!WORKFLOW_NAME.test(options.name))
    throw new WorkflowDefinitionError(subject, 'name must match ^[a-zA-Z][a-zA-Z0-9-]{0,47}$');
  if (options.steps.length === 0) throw new WorkflowDefinitionError(subject, 'has no steps');
  const limits: WorkflowLimits = { ...DEFAULT_LIMITS, ...options.limits };
  for (const [key, value] of Object.entries(limits)) {
    if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
      throw new WorkflowDefinitionError(
        subject,
        `limits.${key} must be a positive number, got ${String(value)}`,
      );
    }
  }
  const validateInput = compileSchema(`${subject} input`, options.input as Record<string, unknown>);
  const stepsById = new Map<string, Step>();
  checkSequence(subject, options.steps, new Set(), stepsById);
  const approvals = options.approvals
    ? {
        ...checkGate(`${subject} approvals`, options.approvals),
        onReject: options.approvals.onReject ?? 'feedback',
      }
    : undefined;
  // A gate that can outwait the run would be cut off by the execution's own timeout.
  const gateTimeouts: Array<[string, number]> = [...stepsById.values()]
    .filter((st) => st.kind === 'approval')
    .map((st) => [`approval step "${st.id}"`, (st as { timeoutSeconds: number }).timeoutSeconds]);
  if (approvals)
    gateTimeouts.push(['approvals', approvals.timeoutSeconds * (approvals.onTimeout === 'escalate' ? 2 : 1)]);
  for (const [what, seconds] of gateTimeouts) {
    if (seconds >= limits.timeLimitSeconds) {
      throw new WorkflowDefinitionError(
        subject,
        `${what} may wait ${seconds} s, which is not less than limits.timeLimitSeconds (${limits.timeLimitSeconds} s): the run would hit its time limit while a human decides. Raise the limit or shorten the gate.`,
      );
    }
  }
  const workflowEdges = checkEdges(subject, 'edges', options.edges);
  const edges = Object.fromEntries(LIMIT_NAMES.map((l) => [l, workflowEdges[l] ?? 'fail'])) as Record<
    LimitName,
    LimitEdge
  >;
  const agentSteps = [...stepsById.values()].filter((s) => s.kind === 'agent');
  const allEdges: Array<[string, LimitName, LimitEdge]> = [
    ...LIMIT_NAMES.map((l): [string, LimitName, LimitEdge] => [`edges.${l}`, l, edges[l]]),
    ...agentSteps.flatMap((st) =>
      Object.entries(st.agent.edges).map(([l, e]): [string, LimitName, LimitEdge] => [
        `agent "${st.agent.name}" edges.${l}`,
        l as LimitName,
        e,
      ]),
    ),
  ];
  const asking = allEdges.find(([, , e]) => e === 'ask');
  if (asking && !approvals)
    throw new WorkflowDefinitionError(
      subject,
      `${asking[0]} is 'ask' but the workflow names no approvers: set approvals, or choose 'fail' or 'final-answer'`,
    );
  const extensions = checkExtensions(subject, options.extensions, limits);
  const needsMargin = allEdges.some(([, , e]) => e === 'final-answer');
  const finalAnswerMargin = needsMargin ? checkMargin(subject, options.finalAnswerMargin, limits) : undefined;
  if (!needsMargin && options.finalAnswerMargin !== undefined)
    throw new WorkflowDefinitionError(
      subject,
      "finalAnswerMargin is set but no edge is 'final-answer': nothing would use it",
    );
  if (finalAnswerMargin && limits.maxSteps < 2)
    throw new WorkflowDefinitionError(
      subject,
      'limits.maxSteps must be at least 2 with a final-answer edge: one step is held back for the last call',
    );
  if (!approvals) {
    for (const step of stepsById.values()) {
      if (step.kind !== 'agent') continue;
      const gated = step.agent.tools.filter((t) => t.approval).map((t) => t.name);
      if (gated.length > 0) {
        throw new WorkflowDefinitionError(
          subject,
          `agent step "${step.id}" has tools that need approval (${gated.join(', ')}) but the workflow names no approvers: set approvals, or approval: false on the tool`,
        );
      }
    }
  }
  return {
    kind: 'workflow',
    name: options.name,
    description: options.description,
    input: options.input as JSONSchema,
    validateInput,
    steps: options.steps,
    limits,
    edges,
    extensions,
    finalAnswerMargin,
    edgeOf: (stepId, limit) => {
      const step = stepsById.get(stepId);
      return (step?.kind === 'agent' ? step.agent.edges[limit] : undefined) ?? edges[limit];
    },
    dailyCaps: checkDailyCaps(subject, options.dailyCaps ?? {}),
    validators: validatorsOf(options.validators),
    approvals,
    guardrails: checkGuardrails(subject, options.guardrails),
    memory: options.memory ? checkEpisodicMemory(subject, options.memory) : undefined,
    stepsById,
    agentOf: (stepId) => {
      const step = stepsById.get(stepId);
      return step?.kind === 'agent' ? step.agent : undefined;
    },
  };
}

/**
 * Walk steps in order: ids are unique, and each step needs only steps that
 * finished before it. Returns the ids a sequence makes available after it.
 */
function checkSequence(
  subject: string,
  steps: readonly Step[],
  available: Set<string>,
  all: Map<string, Step>,
): Set<string> {
  let done = new Set(available);
  for (const step of steps) done = checkStep(subject, step, done, all);
  return done;
}

function checkStep(subject: string, step: Step, available: Set<string>, all: Map<string, Step>): Set<string> {
  if (all.has(step.id)) throw new WorkflowDefinitionError(subject, `step id "${step.id}" is used twice`);
  all.set(step.id, step);
  if ('needs' in step) {
    for (const need of step.needs) {
      const dot = need.indexOf('.');
      if (dot > 0) {
        // `<step>.<field>`: the step must have finished before, and declare that it passes the field.
        const from = need.slice(0, dot);
        const field = need.slice(dot + 1);
        const source = all.get(from);
        const passes = source?.kind === 'agent' ? source.passes : undefined;
        if (!available.has(from) || !passes?.fields.includes(field)) {
          throw new WorkflowDefinitionError(
            subject,
            `step "${step.id}" reads "${need}", but no earlier step passes it on (${
              !available.has(from)
                ? `"${from}" has not finished before it`
                : passes
                  ? `"${from}" passes ${passes.fields.join(', ')}`
                  : `"${from}" declares no passes schema`
            })`,
          );
        }
        continue;
      }
      if (!available.has(need)) {
        const sibling = all.has(need)
          ? ' (it runs in a parallel branch beside this one, or later: a hidden sequential dependency)'
          : '';
        throw new WorkflowDefinitionError(
          subject,
          `step "${step.id}" needs "${need}", which has not finished before it${sibling}`,
        );
      }
    }
  }
  switch (step.kind) {
    case 'chain':
      return new Set([...checkSequence(subject, step.steps, available, all), step.id]);
    case 'parallel': {
      const out = new Set(available);
      // Each branch sees only what was available before the parallel step.
      for (const branch of step.branches)
        for (const id of checkStep(subject, branch, available, all)) out.add(id);
      out.add(step.id);
      return out;
    }
    case 'route': {
      const out = new Set(available);
      for (const branch of Object.values(step.branches)) checkStep(subject, branch, available, all);
      // After a route only the route's own output (the chosen branch's) is known to exist.
      out.add(step.id);
      return out;
    }
    default:
      return new Set([...available, step.id]);
  }
}

/** Validators only ever see input that passed the input schema, so the derived type holds. */
function validatorsOf(validators: unknown): Readonly<Record<string, InputValidator<unknown>>> {
  return (validators ?? {}) as Readonly<Record<string, InputValidator<unknown>>>;
}

function checkDailyCaps(subject: string, caps: DailyCaps): DailyCaps {
  const values: Array<[string, number | undefined]> = [
    ['dailyCaps.tokens', caps.tokens],
    ['dailyCaps.costUsd', caps.costUsd],
    ['dailyCaps.perTenant.tokens', caps.perTenant?.tokens],
    ['dailyCaps.perTenant.costUsd', caps.perTenant?.costUsd],
  ];
  for (const [key, v] of values) {
    if (v !== undefined && !(v > 0 && Number.isFinite(v))) {
      throw new WorkflowDefinitionError(subject, `${key} must be a positive number, got ${String(v)}`);
    }
  }
  return caps;
}

/**
 * Every tool of every agent of `workflows`, by name. Two different tools
 * under one name are a definition error: each tool gets one function and one
 * role, named by the tool.
 */
export function toolsOf(workflows: readonly Workflow[]): Map<string, Tool> {
  const tools = new Map<string, Tool>();
  for (const workflow of workflows)
    for (const step of workflow.stepsById.values()) {
      if (step.kind !== 'agent') continue;
      for (const tool of step.agent.tools) {
        const seen = tools.get(tool.name);
        if (seen && seen !== tool)
          throw new WorkflowDefinitionError(
            `tool "${tool.name}"`,
            `two different tools share this name (in workflow "${workflow.name}"); give each its own name`,
          );
        tools.set(tool.name, tool);
      }
    }
  return tools;
}

/**
 * Every knowledge source of every agent of `workflows`, by name. Two different
 * sources under one name are a definition error: each name is one index.
 */
export function knowledgeSourcesOf(workflows: readonly Workflow[]): Map<string, KnowledgeSource> {
  const sources = new Map<string, KnowledgeSource>();
  for (const workflow of workflows)
    for (const step of workflow.stepsById.values()) {
      const source = step.kind === 'agent' ? step.agent.knowledge?.source : undefined;
      if (!source) continue;
      const seen = sources.get(source.name);
      if (seen && (seen.dimension !== source.dimension || seen.maxChunkChars !== source.maxChunkChars))
        throw new WorkflowDefinitionError(
          `knowledge source "${source.name}"`,
          `declared twice with different settings (in workflow "${workflow.name}"); declare it once and share it`,
        );
      sources.set(source.name, source);
    }
  return sources;
}

/** Whether any workflow uses memory (episodic or semantic): the stack then deploys the memory parts. */
export function usesMemory(workflows: readonly Workflow[]): boolean {
  return workflows.some((w) => w.memory !== undefined) || knowledgeSourcesOf(workflows).size > 0;
}
