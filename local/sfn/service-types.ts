import type { Durability } from '../durability.js';
import type { CallbackMessage } from './execution.js';
import type { JournalDisk } from './execution-store.js';
import type { LambdaInvoker } from './lambda-invoker.js';
import type { Clock, Logger } from './types.js';

/** Options for `LocalStepFunctions`. */
export interface LocalStepFunctionsOptions {
  /** Directory for execution journals; omit to keep everything in memory. */
  dataDir?: string;
  invoker: LambdaInvoker;
  /** @default the system clock */
  clock?: Clock;
  /** @default 'us-east-1' */
  region?: string;
  /** @default '000000000000' */
  accountId?: string;
  /** Receives SQS/SNS `.waitForTaskToken` messages (default: nobody). */
  onCallback?: (message: CallbackMessage) => void;
  /**
   * The FULL-jitter draw of Retry delays, in [0, 1): a retrier waits this
   * fraction of its backoff. Tests that inject many faults pass a small one.
   * @default Math.random
   */
  retryJitter?: () => number;
  logger?: Logger;
  /**
   * How the journals' group commit syncs a file (tests stand in a disk that
   * records what a power cut would keep). @default `fs.fsync` and `fs.fsyncSync`
   */
  journalDisk?: JournalDisk;
  /**
   * What the journals survive (`local/durability.ts`): `process` writes every
   * line before it is acted on; `machine` also fsyncs it. @default 'process'
   */
  durability?: Durability;
  /** Accept Task resources the interpreter cannot run (they fail at run time). @default false */
  allowUnsupportedResources?: boolean;
}

/** StartExecution input (as the SDK's command). */
export interface StartExecutionInput {
  stateMachineArn: string;
  name?: string;
  input?: string;
}

/** GetExecutionHistory input (as the SDK's command). */
export interface HistoryInput {
  executionArn: string;
  maxResults?: number;
  nextToken?: string;
  reverseOrder?: boolean;
  includeExecutionData?: boolean;
}

/** ListExecutions input (as the SDK's command). */
export interface ListExecutionsInput {
  stateMachineArn?: string;
  statusFilter?: string;
  maxResults?: number;
  nextToken?: string;
}

/** Names of executions and state machines: 1-80 letters, digits, `-` or `_`. */
export const NAME_RE = /^[A-Za-z0-9_-]{1,80}$/;
