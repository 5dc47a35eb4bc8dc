import type { RunFacts, RunStore, StoredMessage } from './run-records.js';

/**
 * What a warm container remembers between invocations, so a run's next step
 * needs fewer reads. Everything here is a copy of what DynamoDB holds and is
 * only trusted where it cannot be stale:
 *
 * - a run's META without its status (what a run is never changes once it
 *   started: workflow, input, deadline, tenant);
 * - a step's conversation as this container recorded or read it, used only
 *   when the tool results that arrive with the next iteration answer exactly
 *   the last turn it holds (so no turn can have been recorded since).
 *
 * Bounded: the least recently used entries go first.
 */
export class Lru<K, V> {
  private readonly entries = new Map<K, V>();
  constructor(private readonly max: number) {}

  get(key: K): V | undefined {
    const value = this.entries.get(key);
    if (value === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

const metas = new Lru<string, RunFacts>(1_024);

/** A run's facts that never change, cached per container; undefined when the run does not exist. */
export async function runMetaOf(store: RunStore, runId: string): Promise<RunFacts | undefined> {
  const hit = metas.get(runId);
  if (hit) return hit;
  const meta = await store.getRun(runId);
  if (!meta) return undefined;
  const { status: _s, updatedAt: _u, stopReason: _r, stopDetail: _d, error: _e, answer: _a, ...facts } = meta;
  metas.set(runId, facts);
  return facts;
}

const conversations = new Lru<string, readonly StoredMessage[]>(256);
const conversationKey = (runId: string, step: string) => `${runId}\u0000${step}`;

/** The messages of a step this container holds, in order (every one recorded in DynamoDB). */
export function cachedConversation(runId: string, step: string): readonly StoredMessage[] | undefined {
  return conversations.get(conversationKey(runId, step));
}

/** Remember a step's messages as recorded (all of them, in order). */
export function rememberConversation(runId: string, step: string, messages: readonly StoredMessage[]): void {
  conversations.set(conversationKey(runId, step), messages);
}

/** Forget a step's messages (another attempt recorded a turn this container did not see). */
export function forgetConversation(runId: string, step: string): void {
  conversations.delete(conversationKey(runId, step));
}

/** Forget everything a warm container remembers: what a cold start begins with. */
export function forgetWarmState(): void {
  metas.clear();
  conversations.clear();
}
