/**
 * Decides what the scripted model does with one request: which turn of which
 * conversation it asks for, which attempt that is, and whether the attempt
 * gets a fault, the reply, or a loud "ran out".
 */
import { conversationKey, type MessagesBody, turnIndexOf } from './request.js';
import type { Fault, RecordedRequest, Scenario, ScriptedTurn } from './types.js';

/** What to answer one request with. */
export type Action =
  | { kind: 'reply'; turn: ScriptedTurn }
  | { kind: 'fault'; fault: Fault; turn: ScriptedTurn }
  | { kind: 'problem'; message: string };

/** The active scenario plus its per-conversation attempt counters and recorded requests. */
export class ScriptPlayer {
  private scenario: Scenario | undefined;
  private readonly attempts = new Map<string, number>();
  /** Every well-formed request, in order. Cleared (not replaced) by `use`. */
  readonly requests: RecordedRequest[] = [];
  /** Every request the script could not answer, as a sentence. Cleared by `use`. */
  readonly problems: string[] = [];

  /** Makes `scenario` the active script and forgets everything about the previous one. */
  use(scenario: Scenario): void {
    this.scenario = scenario;
    this.attempts.clear();
    this.requests.length = 0;
    this.problems.length = 0;
  }

  /** Records a request and decides how to answer it. */
  next(
    body: MessagesBody,
    headers: Record<string, string>,
    at: number,
    api: NonNullable<RecordedRequest['api']> = 'messages',
  ): Action {
    const conversation = conversationKey(body);
    const turnIndex = turnIndexOf(body);
    const counterKey = JSON.stringify([conversation, turnIndex]);
    const attempt = (this.attempts.get(counterKey) ?? 0) + 1;
    this.attempts.set(counterKey, attempt);
    const request: RecordedRequest = { at, conversation, turnIndex, attempt, body, headers, api };
    this.requests.push(request);

    const turn = this.turnFor(request);
    if (typeof turn === 'string') return this.problem(turn);
    const fault = turn.faults?.[attempt - 1];
    return fault ? { kind: 'fault', fault, turn } : { kind: 'reply', turn };
  }

  /** Records a failure to answer that did not come from the script (e.g. an unserialisable turn). */
  problem(message: string): Action {
    this.problems.push(message);
    return { kind: 'problem', message };
  }

  private turnFor(request: RecordedRequest): ScriptedTurn | string {
    const { conversation, turnIndex, attempt } = request;
    const scenario = this.scenario;
    const where = `conversation '${conversation}', turn ${turnIndex}, attempt ${attempt}`;
    if (!scenario) return `scripted model: no scenario in use (${where}); call use(scenario) first`;
    if (scenario.turns) {
      const turn = scenario.turns[turnIndex];
      if (turn) return turn;
      return (
        `scripted model: scenario '${scenario.name}' ran out of turns: ${where} was asked for, ` +
        `but the script has ${scenario.turns.length} turn(s)`
      );
    }
    if (scenario.respond) {
      try {
        return scenario.respond(request);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        return `scripted model: scenario '${scenario.name}' respond() threw at ${where}: ${reason}`;
      }
    }
    return `scripted model: scenario '${scenario.name}' has neither turns nor respond (${where})`;
  }
}
