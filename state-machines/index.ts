/**
 * The workflow language: declare tools, agents and workflows in TypeScript;
 * `compileWorkflow` turns a workflow into one Standard, JSONata state machine.
 */
export { defineTool, worstCaseSeconds, ACCESS_ORDER } from './tool.js';
export type { Tool, ToolOptions, ToolContext, AccessClass, ToolRetryPolicy, ToolTrimPolicy } from './tool.js';
export { defineAgent, MAX_TOOLS_PER_AGENT } from './agent.js';
export type { Agent, AgentOptions } from './agent.js';
export { agent, code, chain, parallel, route, approval } from './steps.js';
export type { Step, StepContext, AgentStep, CodeStep, ChainStep, ParallelStep, RouteStep, ApprovalStep } from './steps.js';
export { defineWorkflow, DEFAULT_LIMITS } from './workflow.js';
export type { Workflow, WorkflowOptions, WorkflowLimits, InputValidator } from './workflow.js';
export { compileWorkflow } from './compile/compile-workflow.js';
export type { AslDefinition, FunctionArns } from './compile/compile-workflow.js';
export { WorkflowDefinitionError } from './errors.js';
export { STOP_REASONS, type StopReason } from './stop-reasons.js';
export * from './contract.js';
