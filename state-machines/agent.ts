import { contextOf } from '../lambdas/core/model-context.js';
import { BEDROCK_GEOGRAPHIES, priceOf } from '../lambdas/core/pricing.js';
import { checkEdges, type LimitEdge, type LimitName } from './edges.js';
import { WorkflowDefinitionError } from './errors.js';
import { type AgentKnowledge, type AgentKnowledgeOptions, checkAgentKnowledge } from './memory.js';
import { ACCESS_ORDER, type AccessClass, type Tool } from './tool.js';

/** More tools than this on one agent is a definition error: accuracy drops past 15-20 (seed). */
export const MAX_TOOLS_PER_AGENT = 20;

/** Claude through the Anthropic API, with the API key from Secrets Manager (`ANTHROPIC_SECRET_ARN`). */
export interface AnthropicProvider {
  kind: 'anthropic';
}

/**
 * Claude through Amazon Bedrock's InvokeModel API, signed with the agent-step
 * function's own IAM role (no API key). The stack grants `bedrock:InvokeModel`
 * on exactly this model or inference profile, and nothing else.
 */
export interface BedrockProvider {
  kind: 'bedrock';
  /**
   * A Bedrock foundation-model id (`anthropic.claude-sonnet-4-6`,
   * `anthropic.claude-haiku-4-5-20251001-v1:0`) or a cross-Region inference
   * profile id (`us.anthropic.claude-sonnet-4-5-20250929-v1:0`,
   * `global.anthropic.claude-haiku-4-5-20251001-v1:0`). Must be in the Bedrock
   * price table (`lambdas/core/pricing.ts`); ARNs and application inference
   * profiles are not accepted (their price cannot be known at definition time).
   */
  modelId: string;
  /**
   * The Region the agent step calls Bedrock in: the source Region of an
   * inference profile.
   * @default the Region the agent-step function runs in
   */
  region?: string;
}

/** Where an agent's model calls go. */
export type ModelProvider = AnthropicProvider | BedrockProvider;

interface AgentBaseOptions {
  /** `^[a-zA-Z][a-zA-Z0-9_-]{0,47}$`, unique within a workflow. */
  name: string;
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
  /**
   * What happens to a tool result that reads like instructions (prompt
   * injection inside a web page, an email, a vendor record): `quarantine`
   * withholds it whole and the model reads a notice, `redact` replaces only the
   * fields or sentences that were flagged. Either way the trail records a
   * `guardrail` event `tool_output_injection`. Every result is spotlighted.
   * @default 'quarantine'
   */
  untrustedResults?: 'quarantine' | 'redact';
  /**
   * This agent's own edge for some limits (see the workflow's `edges`): e.g.
   * `{ steps: 'final-answer' }` for an agent that should always answer.
   */
  edges?: Partial<Record<LimitName, LimitEdge>>;
  /**
   * A knowledge source (`defineKnowledge`) retrieved from at the step's start:
   * at most `topK` chunks, none scoring under `minScore`.
   */
  knowledge?: AgentKnowledgeOptions;
  /**
   * The conversation window: past `maxTokens` (estimated, a byte counting as a
   * token) old tool outputs are dropped first, oldest first, then older turns
   * are folded into a running summary made by a model call; the last
   * `keepTurns` turns stay verbatim, and the system prompt and the task always.
   * `maxTokens` may be at most the model's context less the agent's `maxTokens`.
   * @default { maxTokens: half the model's context window (`lambdas/core/model-context.ts`: 100,000 for every Claude model it lists), keepTurns: 4 }
   */
  window?: { maxTokens?: number; keepTurns?: number };
}

/** The model of an agent on the Anthropic API (the default provider). */
export interface AnthropicModelOptions {
  /** Model id, e.g. `claude-sonnet-4-6`. Must be in the price table (`lambdas/core/pricing.ts`): budgets need a price. */
  model: string;
  /** @default { kind: 'anthropic' } */
  provider?: AnthropicProvider;
}

/** The model of an agent on Amazon Bedrock: the model id lives in the provider. */
export interface BedrockModelOptions {
  /** Not used on Bedrock: set `provider.modelId`. */
  model?: undefined;
  /** e.g. `{ kind: 'bedrock', modelId: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' }` */
  provider: BedrockProvider;
}

/**
 * An agent's declaration. Its model is either `model` (the Anthropic API, as
 * before) or `provider: { kind: 'bedrock', modelId }` (Amazon Bedrock).
 */
export type AgentOptions = AgentBaseOptions & (AnthropicModelOptions | BedrockModelOptions);

/** An agent as the runtime sees it, with defaults applied. */
export interface Agent {
  readonly kind: 'agent';
  readonly name: string;
  /** The model id sent to the provider: the Anthropic model, or the Bedrock model or inference profile id. */
  readonly model: string;
  /** Where the model calls go (`{ kind: 'anthropic' }` unless declared). */
  readonly provider: ModelProvider;
  readonly system: string;
  readonly tools: readonly Tool[];
  readonly maxTokens: number;
  readonly access: AccessClass;
  readonly deny: readonly string[];
  readonly maxIdenticalCalls: number;
  readonly onPolicyViolation: 'stop' | 'feedback';
  readonly untrustedResults: 'quarantine' | 'redact';
  /** The edges this agent chose; the workflow's apply to the others. */
  readonly edges: Partial<Record<LimitName, LimitEdge>>;
  /** The knowledge source retrieved from, with its filter, if any. */
  readonly knowledge: AgentKnowledge | undefined;
  /** The conversation window, defaults applied. */
  readonly window: {
    readonly maxTokens: number;
    readonly keepTurns: number;
    /** The model's context window the default came from (`lambdas/core/model-context.ts`). */
    readonly contextTokens: number;
  };
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
  const edges = checkEdges(subject, 'edges', options.edges);
  const { model, provider } = resolveModel(subject, options);
  const highest = options.tools.reduce<AccessClass>(
    (acc, t) => (ACCESS_ORDER.indexOf(t.access) > ACCESS_ORDER.indexOf(acc) ? t.access : acc),
    'read',
  );
  return {
    kind: 'agent',
    name: options.name,
    model,
    provider,
    system: options.system,
    tools: options.tools,
    maxTokens,
    access: options.access ?? highest,
    deny: options.deny ?? [],
    maxIdenticalCalls,
    onPolicyViolation: options.onPolicyViolation ?? 'stop',
    untrustedResults: untrustedResultsOf(subject, options.untrustedResults),
    edges,
    knowledge: options.knowledge ? checkAgentKnowledge(subject, options.knowledge) : undefined,
    window: checkWindow(subject, model, provider, maxTokens, options.window ?? {}),
    tool: (name) => byName.get(name),
  };
}

/** A Bedrock id of a cross-Region inference profile starts with its geography (`us.`, `global.`, …). */
const BEDROCK_ID = new RegExp(`^((${BEDROCK_GEOGRAPHIES.join('|')})\\.)?[a-z0-9-]+\\.[A-Za-z0-9._:-]+$`);
const REGION = /^[a-z]{2}(-gov)?-[a-z]+-[0-9]$/;

/** The model id and provider of a declaration; every mistake names the agent and the field. */
function resolveModel(subject: string, options: AgentOptions): { model: string; provider: ModelProvider } {
  const provider: unknown = options.provider ?? { kind: 'anthropic' };
  const kind = typeof provider === 'object' && provider !== null ? Reflect.get(provider, 'kind') : undefined;
  if (kind === 'anthropic') {
    const model = options.model;
    if (typeof model !== 'string' || model === '')
      throw new WorkflowDefinitionError(subject, 'model is required for the Anthropic provider');
    if (!priceOf(model, 'anthropic'))
      throw new WorkflowDefinitionError(
        subject,
        `model "${model}" is not in the Anthropic price table (lambdas/core/pricing.ts): budgets need a price`,
      );
    return { model, provider: { kind: 'anthropic' } };
  }
  if (kind !== 'bedrock' || typeof provider !== 'object' || provider === null) {
    throw new WorkflowDefinitionError(
      subject,
      `provider.kind must be 'anthropic' or 'bedrock', got ${JSON.stringify(kind)}`,
    );
  }
  const modelId: unknown = Reflect.get(provider, 'modelId');
  const region: unknown = Reflect.get(provider, 'region');
  if (typeof modelId !== 'string' || modelId === '')
    throw new WorkflowDefinitionError(subject, 'provider.modelId is required for the Bedrock provider');
  if (options.model !== undefined)
    throw new WorkflowDefinitionError(
      subject,
      `model "${options.model}" is set next to a Bedrock provider: put the Bedrock id in provider.modelId only`,
    );
  if (!BEDROCK_ID.test(modelId))
    throw new WorkflowDefinitionError(
      subject,
      `provider.modelId "${modelId}" is not a Bedrock model or inference profile id (like anthropic.claude-sonnet-4-6 or us.anthropic.claude-haiku-4-5-20251001-v1:0; ARNs are not accepted)`,
    );
  if (!priceOf(modelId, 'bedrock'))
    throw new WorkflowDefinitionError(
      subject,
      `provider.modelId "${modelId}" is not in the Bedrock price table (lambdas/core/pricing.ts): budgets need a price`,
    );
  if (region !== undefined && (typeof region !== 'string' || !REGION.test(region)))
    throw new WorkflowDefinitionError(
      subject,
      `provider.region must be an AWS Region like us-east-1, got ${JSON.stringify(region)}`,
    );
  return {
    model: modelId,
    provider: region === undefined ? { kind: 'bedrock', modelId } : { kind: 'bedrock', modelId, region },
  };
}

function untrustedResultsOf(subject: string, mode: unknown): 'quarantine' | 'redact' {
  if (mode === undefined) return 'quarantine';
  if (mode === 'quarantine' || mode === 'redact') return mode;
  throw new WorkflowDefinitionError(
    subject,
    `untrustedResults must be 'quarantine' or 'redact', got ${JSON.stringify(mode)}`,
  );
}

/**
 * The window's threshold defaults to half the model's context
 * (`lambdas/core/model-context.ts`); a threshold must leave room in the
 * context for the call's output (`maxTokens`).
 */
function checkWindow(
  subject: string,
  model: string,
  provider: ModelProvider,
  outputTokens: number,
  w: { maxTokens?: number; keepTurns?: number },
) {
  const context = contextOf(model, provider.kind);
  const ceiling = context.tokens - outputTokens;
  const maxTokens = w.maxTokens ?? Math.floor(context.tokens / 2);
  if (!Number.isInteger(maxTokens) || maxTokens < 2_000 || maxTokens > ceiling)
    throw new WorkflowDefinitionError(
      subject,
      `window.maxTokens must be an integer in [2000, ${ceiling}] (the ${context.tokens}-token context of ${model}${context.from === 'fallback' ? ', assumed: the model is not in lambdas/core/model-context.ts' : ''} less maxTokens ${outputTokens} for the output), got ${maxTokens}`,
    );
  const keepTurns = w.keepTurns ?? 4;
  if (!Number.isInteger(keepTurns) || keepTurns < 1 || keepTurns > 50)
    throw new WorkflowDefinitionError(
      subject,
      `window.keepTurns must be an integer in [1, 50], got ${keepTurns}`,
    );
  return { maxTokens, keepTurns, contextTokens: context.tokens };
}
