/**
 * The scripted model: one stand-in for the Anthropic Messages API, shared by
 * the whole test suite and the local demo. `server.ts` holds the server,
 * `scenarios.ts` the helpers that write turns and faults.
 */

export { ScenarioModuleError } from './errors.js';
export { isScenario, loadScenario } from './load-scenario.js';
export * from './scenarios.js';
export { type LoggedRequest, ScriptedModel, type ScriptedModelOptions } from './server.js';
export type {
  Fault,
  MessagesBody,
  RecordedRequest,
  RequestBlock,
  RequestMessage,
  Scenario,
  ScriptedToolUse,
  ScriptedTurn,
  ScriptedUsage,
} from './types.js';
