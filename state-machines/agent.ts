import { WorkflowDefinitionError } from './errors.js';
import { ACCESS_ORDER, type AccessClass, type Tool } from './tool.js';

/** More tools than this on one agent is a definition error: accuracy drops past 15-20 (seed). */
export const MAX_TOOLS_PER_AGENT = 20;

export interface AgentOptions {
  /** `^[a-zA-Z][a-zA-Z0-9_-]{0,47}$`, unique within a workflow. */
  name: string;
  /** Model id, e.g. `claude-sonnet-4-6`. Must be in the price table (`lambdas/core/pricing.ts`): budgets need a price. */
  model: string;
  system: string;
  tools: readonly Tool[];
  /** Most tokens one model call may produce. @default 1024 */
  maxTokens?: number;
  /**
   * The highest access class this agent may use. A call to a tool above it is a
   * policy violation: blocked, recorded, alerted.
   * @default the highest class among its tools
   */
  access?: AccessClass;
  /** Tool names this agent may never call, whatever their class. */
  deny?: readonly string[];
  /**
   * The same tool with the same canonical arguments may be requested this many
   * times in a run; the next identical request stops the run with `LoopDetected`.
   * @default 2
   */
  maxIdenticalCalls?: number;
  /**
   * Whether the run stops (`PolicyViolation`) when the agent asks for a tool its
   * policy forbids, or the model gets an error result and may go on.
   * @default 'stop'
   */
  onPolicyViolation?: 'stop' | 'feedback';
}

/** An agent as the runtime sees it, with defaults applied. */
export interface Agent {
  readonly kind: 'agent';
  readonly name: string;
  readonly model: string;
  readonly system: string;
  readonly tools: readonly Tool[];
  readonly maxTokens: number;
  readonly access: AccessClass;
  readonly deny: readonly string[];
  readonly maxIdenticalCalls: number;
  readonly onPolicyViolation: 'stop' | 'feedback';
  /** Look a tool up by name. */
  tool(name: string): Tool | undefined;
}

const AGENT_NAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,47}$/;

/** Declare an agent. Throws `WorkflowDefinitionError` for a declaration that cannot work. */
export function defineAgent(options: AgentOptions): Agent {
  const subject = `agent "${options.name}"`;
  if (!AGENT_NAME.test(options.name)) {
    throw new WorkflowDefinitionError(subject, 'name must match ^[a-zA-Z][a-zA-Z0-9_-]{0,47}$');
  }
  if (options.tools.length > MAX_TOOLS_PER_AGENT) {
    throw new WorkflowDefinitionError(
      subject,
      `has ${options.tools.length} tools; at most ${MAX_TOOLS_PER_AGENT} are allowed (tool choice degrades past 15-20): split it into sub-agents behind a route step`,
    );
  }
  const byName = new Map<string, Tool>();
  for (const tool of options.tools) {
    if (byName.has(tool.name))
      throw new WorkflowDefinitionError(subject, `duplicate tool name "${tool.name}"`);
    byName.set(tool.name, tool);
  }
  for (const tool of options.tools) {
    if (tool.fallback === undefined) continue;
    if (tool.fallback === tool.name) {
      throw new WorkflowDefinitionError(subject, `tool "${tool.name}" names itself as its fallback`);
    }
    if (!byName.has(tool.fallback)) {
      throw new WorkflowDefinitionError(
        subject,
        `tool "${tool.name}" has fallback "${tool.fallback}", which names no tool of this agent (tools: ${[...byName.keys()].join(', ')})`,
      );
    }
  }
  for (const denied of options.deny ?? []) {
    if (!byName.has(denied))
      throw new WorkflowDefinitionError(
        subject,
        `deny list names "${denied}", which is not one of its tools`,
      );
  }
  const maxTokens = options.maxTokens ?? 1024;
  if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > 64_000) {
    throw new WorkflowDefinitionError(
      subject,
      `maxTokens must be an integer in [1, 64000], got ${maxTokens}`,
    );
  }
  const maxIdenticalCalls = options.maxIdenticalCalls ?? 2;
  if (!Number.isInteger(maxIdenticalCalls) || maxIdenticalCalls < 1) {
    throw new WorkflowDefinitionError(
      subject,
      `maxIdenticalCalls must be a positive integer, got ${maxIdenticalCalls}`,
    );
  }
  const highest = options.tools.reduce<AccessClass>(
    (acc, t) => (ACCESS_ORDER.indexOf(t.access) > ACCESS_ORDER.indexOf(acc) ? t.access : acc),
    'read',
  );
  return {
    kind: 'agent',
    name: options.name,
    model: options.model,
    system: options.system,
    tools: options.tools,
    maxTokens,
    access: options.access ?? highest,
    deny: options.deny ?? [],
    maxIdenticalCalls,
    onPolicyViolation: options.onPolicyViolation ?? 'stop',
    tool: (name) => byName.get(name),
  };
}
