/**
 * The vocabulary of the scripted model: what a scenario says, which faults it
 * can inject, and what the server records about each request.
 */
import type { MessagesBody } from './request.js';

export type { MessagesBody, RequestBlock, RequestMessage } from './request.js';

/** One tool_use block the scripted model emits. */
export interface ScriptedToolUse {
  name: string;
  /** Sent as the block's `input`; must be JSON-serialisable (an object, as the API sends). */
  input: unknown;
  /** @default `toolu_scripted_<server instance>_…`, numbered in the order the server hands them out */
  id?: string;
}

/** Token counts to report instead of the estimates. */
export interface ScriptedUsage {
  /** @default about one token per four characters of system, messages and tools */
  inputTokens?: number;
  /** @default about one token per four characters of the reply */
  outputTokens?: number;
  /** @default 0 */
  cacheReadInputTokens?: number;
  /** @default 0 */
  cacheCreationInputTokens?: number;
}

/** What the model "says" at one point of a conversation. */
export interface ScriptedTurn {
  /** A text block (first in the content, before any tool_use). */
  text?: string;
  /** tool_use blocks; the model may name tools the request did not offer (a feature). */
  toolUses?: ScriptedToolUse[];
  /** @default 'tool_use' if `toolUses` is non-empty, else 'end_turn' */
  stopReason?: string;
  usage?: ScriptedUsage;
  /**
   * Served, in order, on the first attempts at this turn before the reply:
   * attempt 1 gets `faults[0]`, attempt 2 `faults[1]`, and the attempt after
   * the last fault gets the reply.
   */
  faults?: Fault[];
  /** Wait this long before answering (a slow but successful answer). */
  delayMs?: number;
}

/**
 * A failure served instead of (or before) a reply.
 * - `status`: an HTTP error with the API's error (Anthropic's JSON, or Bedrock's
 *   `x-amzn-ErrorType` and message) and, if given, `retry-after`.
 * - `hang`: stay silent for `ms`, then serve the reply; a client whose timeout is
 *   shorter gives up first, which is how tests drive SDK timeouts.
 */
export type Fault =
  | {
      kind: 'status';
      status: number;
      retryAfterSeconds?: number;
      message?: string;
      /** On the Bedrock API, the exception to name (`ServiceQuotaExceededException`). @default the status's */
      bedrockError?: string;
    }
  | { kind: 'hang'; ms: number };

/** A script for the model: a fixed list of turns, or a function of the request. */
export interface Scenario {
  name: string;
  /** Turn i is served when the request holds i assistant messages. */
  turns?: ScriptedTurn[];
  /** Called for every attempt when `turns` is absent; react to tool results, say. */
  respond?: (request: RecordedRequest) => ScriptedTurn;
}

/** One well-formed request the server received, in arrival order. */
export interface RecordedRequest {
  /** Epoch milliseconds at arrival. */
  at: number;
  /** `metadata.user_id`, or `hash:` + a hash of the first user message. */
  conversation: string;
  /** Assistant messages already in the request: which turn of the script is asked for. */
  turnIndex: number;
  /** 1 for the first request at this turn of this conversation, 2 for its first retry, … */
  attempt: number;
  body: MessagesBody;
  /** Lower-cased request headers; `x-api-key` and `authorization` are redacted. */
  headers: Record<string, string>;
  /**
   * The wire API it came in on: the Messages API, or Bedrock's InvokeModel
   * (`body.model` is then the path's model id). Always set by the server.
   * @default 'messages'
   */
  api?: 'messages' | 'bedrock';
}
