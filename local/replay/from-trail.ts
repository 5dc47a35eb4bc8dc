import type { StoredTrailEvent } from '../../lambdas/core/run-records.js';
import type { RecordedRequest, Scenario, ScriptedTurn } from '../scripted-model/index.js';

/**
 * Replay a recorded run: a scripted-model scenario that answers each agent
 * step's conversation with the model responses the trail recorded for it, in
 * order, with the recorded token usage. Run it against a changed workflow to
 * see what the change does to a real run, with no model calls (regression
 * tests from production). Tools run again; the trail's recorded tool results
 * let a test compare them.
 */
export function scenarioFromTrail(trail: readonly StoredTrailEvent[], name = 'replay'): Scenario {
  const byStep = new Map<string, ScriptedTurn[]>();
  for (const e of trail) {
    if (e.type !== 'model_call' || e.status !== 'ok' || !Array.isArray(e.response)) continue;
    const turns = byStep.get(e.step) ?? [];
    turns.push(turnOf(e.response, { inputTokens: e.inputTokens, outputTokens: e.outputTokens }));
    byStep.set(e.step, turns);
  }
  return {
    name,
    respond(request: RecordedRequest): ScriptedTurn {
      // Conversations are `<runId>:<step>` (see agent-step): the step picks the script.
      const step = request.conversation.split(':').at(-1) ?? '';
      const turns = byStep.get(step);
      const turn = turns?.[request.turnIndex];
      if (!turn) {
        throw new Error(
          `the recorded run has no model answer for step "${step}" turn ${request.turnIndex} (recorded: ${turns?.length ?? 0}); the changed workflow asks more than the original run did`,
        );
      }
      return turn;
    },
  };
}

function turnOf(
  blocks: readonly unknown[],
  usage: { inputTokens: number; outputTokens: number },
): ScriptedTurn {
  const texts: string[] = [];
  const toolUses: Array<{ name: string; input: unknown; id: string }> = [];
  for (const b of blocks) {
    if (typeof b !== 'object' || b === null) continue;
    const block = b as { type?: unknown; text?: unknown; name?: unknown; input?: unknown; id?: unknown };
    if (block.type === 'text' && typeof block.text === 'string') texts.push(block.text);
    if (block.type === 'tool_use' && typeof block.name === 'string' && typeof block.id === 'string') {
      toolUses.push({ name: block.name, input: block.input, id: block.id });
    }
  }
  return {
    ...(texts.length ? { text: texts.join('\n') } : {}),
    ...(toolUses.length ? { toolUses } : {}),
    usage,
  };
}
