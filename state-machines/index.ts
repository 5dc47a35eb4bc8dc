/**
 * The workflow language: declare tools, agents and workflows in TypeScript;
 * `compileWorkflow` turns a workflow into one Standard, JSONata state machine.
 */

export {
  SERVICE_PRICE_TABLE,
  type ServicePrices,
  servicePricesFor,
} from '../lambdas/core/pricing.js';
export type {
  Agent,
  AgentOptions,
  AnthropicProvider,
  BedrockProvider,
  ModelProvider,
} from './agent.js';
export { defineAgent, MAX_TOOLS_PER_AGENT } from './agent.js';
export type { AslDefinition, FunctionArns } from './compile/compile-workflow.js';
export { compileWorkflow } from './compile/compile-workflow.js';
export * from './contract.js';
export type {
  ExtensionOptions,
  ExtensionPolicy,
  Extensions,
  FinalAnswerMargin,
  LimitEdge,
  LimitEdges,
  LimitName,
} from './edges.js';
export { LIMIT_EDGES, LIMIT_NAMES, LIMIT_STOP } from './edges.js';
export { WorkflowDefinitionError } from './errors.js';
export type { ClassifierOptions, GuardrailOptions } from './guardrail-settings.js';
export type {
  AgentKnowledge,
  AgentKnowledgeOptions,
  EmbeddingDimension,
  EpisodicMemory,
  EpisodicMemoryOptions,
  KnowledgeSource,
  KnowledgeSourceOptions,
} from './memory.js';
export { defineKnowledge } from './memory.js';
export type {
  AgentStep,
  ApprovalStep,
  ChainStep,
  CodeStep,
  ParallelStep,
  Passed,
  PassesSpec,
  RouteStep,
  Step,
  StepContext,
} from './steps.js';
export { agent, approval, chain, code, PASS_ON_TOOL, parallel, route } from './steps.js';
export { STOP_REASONS, type StopReason } from './stop-reasons.js';
export type { AccessClass, Tool, ToolContext, ToolOptions, ToolRetryPolicy, ToolTrimPolicy } from './tool.js';
export { ACCESS_ORDER, defineTool, worstCaseSeconds } from './tool.js';
export type { InputValidator, Workflow, WorkflowLimits, WorkflowOptions } from './workflow.js';
export { DEFAULT_LIMITS, defineWorkflow, knowledgeSourcesOf, toolsOf, usesMemory } from './workflow.js';
