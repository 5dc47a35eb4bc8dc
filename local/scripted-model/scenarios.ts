/**
 * Helpers to write scripted turns and faults in one line each:
 *
 * ```ts
 * model.use(scenario('lookup', [toolUse('get_invoice', { id: 'INV-1' }), text('Paid.')]));
 * model.use(scenario('throttled', [withFaults(text('ok'), status(429, { retryAfterSeconds: 1 }))]));
 * ```
 */
import type { Fault, RecordedRequest, Scenario, ScriptedTurn, ScriptedUsage } from './types.js';

/** A scenario with a fixed list of turns. */
export function scenario(name: string, turns: ScriptedTurn[]): Scenario {
  return { name, turns };
}

/** A scenario that computes each turn from the request (e.g. reacts to tool results). */
export function responder(name: string, respond: (request: RecordedRequest) => ScriptedTurn): Scenario {
  return { name, respond };
}

/** A turn that answers with one text block and ends the turn. */
export function text(value: string, extra?: Omit<ScriptedTurn, 'text'>): ScriptedTurn {
  return { ...extra, text: value };
}

/** A turn that calls one tool; `id` defaults to a generated `toolu_…` id. */
export function toolUse(name: string, input: unknown, extra?: { id?: string; text?: string }): ScriptedTurn {
  const use = extra?.id === undefined ? { name, input } : { name, input, id: extra.id };
  return extra?.text === undefined ? { toolUses: [use] } : { text: extra.text, toolUses: [use] };
}

/** A turn that calls several tools at once (parallel tool use). */
export function toolUses(...uses: Array<{ name: string; input: unknown; id?: string }>): ScriptedTurn {
  return { toolUses: uses };
}

/** The same turn, served only after these faults on its first attempts. */
export function withFaults(turn: ScriptedTurn, ...faults: Fault[]): ScriptedTurn {
  return { ...turn, faults: [...(turn.faults ?? []), ...faults] };
}

/** The same turn, reporting these token counts instead of estimates. */
export function withUsage(turn: ScriptedTurn, usage: ScriptedUsage): ScriptedTurn {
  return { ...turn, usage };
}

/**
 * An HTTP error fault, e.g. `status(429, { retryAfterSeconds: 2 })` or `status(529)`; on the
 * Bedrock API, `bedrockError` names the exception (`status(400, { bedrockError: 'ServiceQuotaExceededException' })`).
 */
export function status(
  code: number,
  opts?: { retryAfterSeconds?: number; message?: string; bedrockError?: string },
): Fault {
  return { kind: 'status', status: code, ...opts };
}

/** A fault that stays silent for `ms` before answering: longer than the client timeout, it is one. */
export function hang(ms: number): Fault {
  return { kind: 'hang', ms };
}

/** The text of the last user message's tool results, for `responder` scenarios. */
export function lastToolResults(
  request: RecordedRequest,
): Array<{ toolUseId: string; content: string; isError: boolean }> {
  const last = request.body.messages.at(-1);
  if (last?.role !== 'user' || typeof last.content === 'string') return [];
  const out: Array<{ toolUseId: string; content: string; isError: boolean }> = [];
  for (const block of last.content) {
    if (block.type !== 'tool_result') continue;
    const content = typeof block.content === 'string' ? block.content : JSON.stringify(block.content ?? '');
    out.push({
      toolUseId: typeof block.tool_use_id === 'string' ? block.tool_use_id : '',
      content,
      isError: block.is_error === true,
    });
  }
  return out;
}
