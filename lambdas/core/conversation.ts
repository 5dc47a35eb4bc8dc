import type { AgentStep } from '../../state-machines/steps.js';
import type { ContentBlock, Message, ToolResultBlock, ToolUseBlock } from './model.js';
import type { RunMeta, RunStore, StoredMessage } from './run-records.js';

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

/**
 * The user message that opens this iteration: the task on the first one, the
 * tool results of the previous turn afterwards. A result that never arrived
 * (the tool step itself died) becomes an error result, so the model always
 * sees an answer for every call it made.
 */
export async function nextUserMessage(
  store: RunStore,
  meta: RunMeta,
  step: AgentStep,
  history: readonly StoredMessage[],
): Promise<Message> {
  const last = history.at(-1);
  if (!last) {
    const outputs = await store.getStepOutputs(meta.runId, step.needs);
    return { role: 'user', content: step.prompt({ runId: meta.runId, input: meta.input, outputs }) };
  }
  const uses = toolUsesOf(last.message);
  const results = await store.getToolResults(
    meta.runId,
    step.id,
    uses.map((u) => u.id),
  );
  const blocks: ToolResultBlock[] = uses.map((use) => {
    const r = results.get(use.id);
    if (!r) {
      return {
        type: 'tool_result',
        tool_use_id: use.id,
        is_error: true,
        content: `The ${use.name} call did not complete (the tool step failed or timed out before it could answer). Try again later or use another way.`,
      };
    }
    return {
      type: 'tool_result',
      tool_use_id: use.id,
      content: r.content,
      ...(r.isError ? { is_error: true } : {}),
    };
  });
  if (blocks.length === 0) {
    return { role: 'user', content: 'Continue. If you have finished, give your final answer.' };
  }
  return { role: 'user', content: blocks };
}
