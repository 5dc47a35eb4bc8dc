import { type AgentStep, PASS_ON_TOOL } from '../../state-machines/steps.js';
import { claimKeys, unclaimedFirstAttempt } from './claims.js';
import type { ContentBlock, Message, ToolResultBlock, ToolUseBlock } from './model.js';
import { type Offloader, offloaderFor, resolveOutputs } from './offload.js';
import type { PendingCall, RunFacts, RunStore, StoredMessage, ToolResultRecord } from './run-records.js';
import { outputsFor } from './step-outputs.js';

/** The tool_use blocks of an assistant message. */
export function toolUsesOf(message: Message): ToolUseBlock[] {
  if (typeof message.content === 'string') return [];
  return message.content.filter((b): b is ToolUseBlock => b.type === 'tool_use');
}

/** The text of a message's text blocks, joined. */
export function textOf(message: { content: string | ContentBlock[] }): string {
  if (typeof message.content === 'string') return message.content;
  return message.content
    .filter((b): b is Extract<ContentBlock, { type: 'text' }> => b.type === 'text')
    .map((b) => b.text)
    .join('\n');
}

/** What opens an iteration: a user message for the model, or tool calls to resolve first. */
export type Opening = { kind: 'message'; message: Message } | { kind: 'redrive'; calls: PendingCall[] };

/**
 * What opens this iteration: the task on the first one, the tool results of
 * the previous turn afterwards. Derived from what is recorded, so it comes out
 * the same on every retry. A call with no result that never began is answered
 * "it did not run" (an ungated read call, which is not claimed, "did not
 * complete: nothing changed"); one that began (its outcome unknown) is never guessed at:
 * it goes back to the tool step, which runs it again only when that is safe
 * and asks a human otherwise. Results that arrived with the iteration
 * (`arrived`, as the tool steps recorded them) are not read again.
 */
export async function openingOf(
  store: RunStore,
  meta: RunFacts,
  step: AgentStep,
  history: readonly StoredMessage[],
  arrived: ReadonlyMap<string, ToolResultRecord> = new Map(),
  /** Reads the outputs the prompt needs back from the payload bucket, when they were offloaded. */
  offloader: Offloader = offloaderFor(meta.runId, undefined),
): Promise<Opening> {
  const last = history.at(-1);
  if (!last) {
    const outputs = await outputsFor(store, meta.runId, step.needs, (o) => resolveOutputs(o, offloader));
    return {
      kind: 'message',
      message: { role: 'user', content: step.prompt({ runId: meta.runId, input: meta.input, outputs }) },
    };
  }
  const uses = toolUsesOf(last.message);
  if (uses.length === 0) {
    return {
      kind: 'message',
      message: {
        role: 'user',
        content: step.passes
          ? `End this step by calling ${PASS_ON_TOOL} with what it passes on (only the declared fields).`
          : 'Continue. If you have finished, give your final answer.',
      },
    };
  }
  const missing = uses.filter((u) => !arrived.has(u.id)).map((u) => u.id);
  const results =
    missing.length > 0
      ? await store.getToolResults(meta.runId, step.id, missing)
      : new Map<string, ToolResultRecord>();
  for (const [id, r] of arrived) results.set(id, r);
  const redrive: PendingCall[] = [];
  const blocks: ToolResultBlock[] = [];
  for (const use of uses) {
    const r = results.get(use.id);
    if (r) {
      blocks.push({
        type: 'tool_result',
        tool_use_id: use.id,
        content: r.content,
        ...(r.isError ? { is_error: true } : {}),
      });
      continue;
    }
    const [claim, pending] = await Promise.all([
      store.getClaim(meta.runId, claimKeys.tool(step.id, use.id)),
      store.getPendingCall(meta.runId, step.id, use.id),
    ]);
    if (claim && pending) {
      redrive.push(pending);
      continue;
    }
    // No claim means no result was recorded, not that it never started; it only reads, so nothing
    // changed either way.
    const tool = step.agent.tool(use.name);
    blocks.push({
      type: 'tool_result',
      tool_use_id: use.id,
      is_error: true,
      content:
        tool && unclaimedFirstAttempt(tool)
          ? `The ${use.name} call did not complete: the platform failed before its result was recorded. It only reads, so nothing changed. You may call it again.`
          : `The ${use.name} call did not run: the platform failed before the tool was started, so nothing happened. You may call it again.`,
    });
  }
  if (redrive.length > 0) return { kind: 'redrive', calls: redrive };
  return { kind: 'message', message: { role: 'user', content: blocks } };
}

/** The tool_result blocks answering `uses`, in order, from results that arrived; undefined if any is missing. */
export function answeredBy(
  uses: readonly ToolUseBlock[],
  arrived: ReadonlyMap<string, ToolResultRecord>,
): Message | undefined {
  if (uses.length === 0) return undefined;
  const blocks: ToolResultBlock[] = [];
  for (const use of uses) {
    const r = arrived.get(use.id);
    if (!r) return undefined;
    blocks.push({
      type: 'tool_result',
      tool_use_id: use.id,
      content: r.content,
      ...(r.isError ? { is_error: true } : {}),
    });
  }
  return { role: 'user', content: blocks };
}
