/**
 * The small model interface the agent step talks to. Core code never imports a
 * provider SDK: the Anthropic adapter (lambdas/adapters/anthropic-model.ts) and
 * the Bedrock adapter (lambdas/adapters/bedrock-model.ts) implement this, and
 * anything else (a replay of a recorded run) can too.
 */

/** A JSON value as it travels through the model API. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface TextBlock {
  type: 'text';
  text: string;
}

export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  input: Json;
}

export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content: string;
  is_error?: boolean;
}

export type ContentBlock = TextBlock | ToolUseBlock | ToolResultBlock;

export interface Message {
  role: 'user' | 'assistant';
  content: string | ContentBlock[];
}

export interface ToolSpec {
  name: string;
  description: string;
  input_schema: { [key: string]: Json };
}

/**
 * Which provider serves a request: the Anthropic API, or Amazon Bedrock in a
 * Region (the function's own when absent). `model` is then a Bedrock id.
 */
export type ModelRoute = { kind: 'anthropic' } | { kind: 'bedrock'; region?: string };

export interface ModelRequest {
  /** The model id as its provider names it (`claude-haiku-4-5`, `us.anthropic.claude-haiku-4-5-20251001-v1:0`). */
  model: string;
  /** @default { kind: 'anthropic' } */
  provider?: ModelRoute;
  system: string;
  messages: Message[];
  tools: ToolSpec[];
  maxTokens: number;
  /**
   * `none`: the tools stay declared (the conversation holds tool blocks) but the
   * model may not call one: a `final-answer` edge's last call.
   */
  toolChoice?: 'none';
  /** Sent as metadata so providers and the scripted model can tell runs apart. */
  runId?: string;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens: number;
  cacheCreationInputTokens: number;
}

export interface ModelResponse {
  id: string;
  model: string;
  content: Array<TextBlock | ToolUseBlock>;
  stopReason: 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence' | 'pause_turn' | 'refusal' | string;
  usage: Usage;
}

export interface ModelClient {
  /** One call to the model. Throws a ModelError subclass (see errors.ts) on failure. */
  call(request: ModelRequest, options?: { signal?: AbortSignal }): Promise<ModelResponse>;
}
