import {
  type AgentAction,
  type AgentStepEvent,
  inlineShare,
  type ToolCallRef,
  type ToolStepResult,
} from '../../state-machines/contract.js';
import type { LimitName } from '../../state-machines/edges.js';
import { describeErrors } from '../../state-machines/schema.js';
import { type AgentStep, PASS_ON_TOOL } from '../../state-machines/steps.js';
import { worstCaseSeconds } from '../../state-machines/tool.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { openApproval } from './approval-gate.js';
import type { ApprovalStore } from './approval-records.js';
import { checkToolCalls } from './call-checks.js';
import { claimKeys, completeOnce, derivedId, eventIds } from './claims.js';
import { answeredBy, type Opening, openingOf, textOf, toolUsesOf } from './conversation.js';
import { dailyCapsFor, reserveCaps } from './daily-caps.js';
import type { AlertPublisher, CoreDeps } from './deps.js';
import {
  ChaperoneError,
  ClaimBusyError,
  CorruptRecordError,
  modelCallAnswered,
  NotFoundError,
  StoreThrottledError,
  ValidationError,
} from './errors.js';
import { type ClassifierDeps, classifyBeforeModelCall } from './guardrails/classifier-tier.js';
import { estimatedHistoryEvents, historyLimitStop, iterationHistoryEvents } from './history-limit.js';
import {
  askExtension,
  cutShortAnswer,
  finalMaxTokens,
  finalNote,
  finalUserMessage,
  LIMIT_STOP,
} from './limit-edges.js';
import { lostCallEvent } from './lost-calls.js';
import { type MemoryDeps, memoryContext, withMemory } from './memory/context.js';
import { SummaryRefusedError, windowOf } from './memory/window.js';
import type { Json, Message, ModelClient, ModelRequest, ToolSpec, ToolUseBlock } from './model.js';
import { type Offloader, offloaderFor, resolveMessages } from './offload.js';
import { costMicros, MICROS_PER_USD, priceOf, worstCaseCostMicros } from './pricing.js';
import type {
  Completion,
  KeyedEvent,
  Ledger,
  OpenReservation,
  PendingCall,
  RunFacts,
  RunMeta,
  StoredMessage,
  ToolResultRecord,
  TrailEvent,
  TurnRecord,
} from './run-records.js';
import { estimateInputTokens } from './token-estimate.js';
import { pendingCompletion, pendingWrite, stampUsage } from './usage.js';
import { cachedConversation, forgetConversation, rememberConversation, runMetaOf } from './warm.js';

export interface AgentStepDeps extends CoreDeps, Pick<ClassifierDeps, 'guardrails' | 'defaultGuardrail'> {
  model: ModelClient;
  alerts: AlertPublisher;
  approvals: ApprovalStore;
  newId: () => string;
  /** Step Functions' history limit (tests lower it). @default 25,000 */
  historyEventLimit?: number;
  /** Knowledge retrieval and episodic recall, when the app uses memory. */
  memory?: MemoryDeps | undefined;
}

/** Seconds added to a tool's worst case for the Task's TimeoutSeconds backstop. */
const TASK_TIMEOUT_MARGIN_SECONDS = 10;

/**
 * One agent iteration: know the conversation, reserve the worst case from the
 * ledger, call the model once, check every requested tool call (registered?
 * valid? allowed? looping?), record it all in one write and say what the
 * state machine does next.
 *
 * Claim-first (see `claims.ts`): the turn's reservation is its claim, and the
 * turn (the user message sent, the answer, its event, the settlement) is
 * recorded together with the action and everything the checks produced, in
 * one transaction that completes the claim. A retry whose reservation finds
 * the turn recorded returns the recorded action and never calls the model
 * again; one that finds only the reservation reuses it. The conversation is
 * derived from the recorded turns before this iteration, never rewritten.
 *
 * On the common path an iteration costs two requests: the reservation (which
 * also answers the ledger) and the write. The conversation comes from this
 * container's copy plus the tool results that arrived with the iteration;
 * anything else (a cold container, a result too large to travel, a call that
 * never completed) reads what it lacks.
 */
export async function runAgentStep(event: AgentStepEvent, deps: AgentStepDeps): Promise<AgentAction> {
  const { store, clock } = deps;
  const { runId, iteration } = event;
  const arrived = event.results ?? [];
  // What a tool step asked for is handed on as it is: no model call, no write.
  const stopped = arrived.find((r) => r.kind === 'stop');
  if (stopped) return { ...stopped, passThrough: true };
  const asked = arrived.find((r) => r.kind === 'approval');
  if (asked)
    return {
      kind: 'approval',
      approvalId: asked.approvalId,
      timeoutSeconds: asked.timeoutSeconds,
      calls: asked.call ? [asked.call] : [],
      passThrough: true,
    };

  const key = claimKeys.model(event.step, iteration);
  const meta = await runMetaOf(store, runId);
  if (!meta) throw new NotFoundError(`run ${runId} does not exist`);
  const workflow = deps.workflows.get(meta.workflow);
  if (!workflow) throw new NotFoundError(`workflow ${meta.workflow} of run ${runId} is not deployed`);
  const step = workflow.stepsById.get(event.step);
  if (step?.kind !== 'agent')
    throw new ValidationError(`step ${event.step} of ${workflow.name} is not an agent step`, '/step');

  const recorded = async (): Promise<AgentAction> => {
    forgetConversation(runId, step.id);
    if (dailyCapsFor(workflow, meta, clock.now()).length > 0) {
      // The attempt that recorded the turn may have died before it settled the daily caps.
      const mine = (await store.listMessagesAfter(runId, step.id, iteration - 1)).find(
        (m) => m.iteration === iteration && m.message.role === 'assistant',
      );
      for (const cap of mine?.caps ?? []) await store.settleCap(cap, runId, key, mine?.used ?? ZERO);
    }
    const claim = await store.getClaim(runId, key);
    if (claim?.state !== 'done')
      throw new StoreThrottledError(`turn ${iteration} of ${step.id} is recorded but its claim is not done`);
    return parseAction(claim.result);
  };
  const decide = async (
    action: AgentAction,
    parts: Omit<Completion, 'result'> = {},
  ): Promise<AgentAction> => {
    const completion = { result: action as unknown as Json, ...parts };
    // The invocation's usage rides on the first event it completes with (usage.ts).
    if (parts.events?.[0]) stampUsage(parts.events[0].event, pendingCompletion(completion));
    const done = await completeOnce(store, runId, key, completion);
    if (done.first) countScreened(parts.events);
    return done.first ? action : parseAction(done.result);
  };
  // A knowledge chunk or past run memory's screen flagged is counted once, when the turn that carries its event completes.
  const countScreened = (events: readonly KeyedEvent[] | undefined) => {
    for (const e of events ?? [])
      if (memoryEvents.includes(e) && e.event.type === 'guardrail')
        deps.metrics.count('GuardrailRejections', 1, { rule: e.event.rule });
  };

  const offloader = offloaderFor(runId, deps.payloads, deps.offloadThresholdBytes);
  const conversation = await conversationOf(store, meta, step, iteration, arrived, offloader);
  const { history } = conversation;
  let { opening } = conversation;
  // Memory joins the task once, in the step's first message (recorded with the turn, so it
  // stays in the conversation); its trail events are written with the turn.
  let memoryEvents: KeyedEvent[] = [];
  if (history.length === 0 && opening.kind === 'message' && typeof opening.message.content === 'string') {
    const task = opening.message.content;
    const memory = await memoryContext({ meta, workflow, step, task }, deps.memory);
    memoryEvents = memory.events;
    opening = { kind: 'message', message: { role: 'user', content: withMemory(task, memory.text) } };
  }
  if (opening.kind === 'redrive') {
    // Tool calls that began but never completed: the tool step resolves them (runs an
    // idempotent one again with its key, asks a human about any other) before the model
    // sees anything about them.
    return decide({ kind: 'tools', calls: refsOf(step, opening.calls) });
  }
  // The classifier tier judges what is new (the prompt, the tool results) before the model sees it.
  const judged = await classifyBeforeModelCall({
    deps,
    workflow,
    step,
    meta,
    iteration,
    message: opening.message,
  });
  if (judged.kind === 'stop') return decide(judged.action, { events: [...judged.events, ...memoryEvents] });
  const call = { deps, workflow, step, meta, event, key, history, user: judged.message };
  let turn: Turn | undefined;
  if (clock.now() >= meta.deadline) {
    // Approved time extensions (an `ask` edge) are on the ledger, read only once past the deadline.
    const ledger = workflow.edgeOf(step.id, 'time') === 'fail' ? undefined : await store.getLedger(runId);
    const extended = ledger?.extended?.seconds ?? 0;
    if (clock.now() >= meta.deadline + extended * 1000) {
      const limit = workflow.limits.timeLimitSeconds + extended;
      turn = {
        kind: 'limit',
        limit: 'time',
        ledger,
        action: stop('TimeLimitExceeded', `time limit of ${limit} s reached`),
      };
    }
  }
  turn ??= await callModel(call);
  if (turn.kind === 'limit') {
    // What the limit's edge says: the named stop, one last call, or a human asked to extend it.
    const t = turn;
    const edge = workflow.edgeOf(step.id, t.limit);
    const events = t.event ? [t.event] : [];
    const fail = t.action as Extract<AgentAction, { kind: 'stop' }>;
    if (edge === 'fail') return decide(fail, { events });
    if (edge === 'ask') {
      const asked = await askExtension({
        deps,
        workflow,
        step,
        meta,
        iteration,
        limit: t.limit,
        ledger: t.ledger ?? (await store.getLedger(runId)),
        refusal: fail,
        doing: textOf(
          history.filter((m) => m.message.role === 'assistant').at(-1)?.message ?? { content: '' },
        ),
      });
      if (!asked)
        return decide(
          stop(fail.reason, `${fail.detail}; its extensions are used up (the workflow's maximum)`),
          {
            events,
          },
        );
      for (const e of asked.events) await store.appendEvent(runId, e.id, e.event);
      // The claim stays open: approved, the state machine runs this same iteration again
      // (passThrough: not counted as a step) and it reserves on the extended ledger.
      return { ...asked.action, passThrough: true };
    }
    const held = await store.reserveMargin(runId, key, t.limit);
    if (!held)
      return decide(stop(fail.reason, `${fail.detail}; the final-answer margin was used already`), {
        events,
      });
    turn = await callModel({ ...call, final: held });
    if (turn.kind === 'limit') return decide(turn.action, { events: turn.event ? [turn.event] : [] });
  }
  if (turn.kind === 'stopped') return decide(turn.action);
  if (turn.kind === 'settled') return recorded();
  if (turn.kind === 'refused') return decide(turn.action, { events: [turn.event, ...memoryEvents] });
  const assistant = turn.record.assistant;

  const commit = async (
    action: AgentAction,
    parts: Omit<Completion, 'result'> = {},
  ): Promise<AgentAction> => {
    const completion = {
      result: action as unknown as Json,
      ...parts,
      events: [...(parts.events ?? []), ...memoryEvents],
    };
    // The invocation's usage rides on the turn's model_call event, counting this write (usage.ts).
    const { user, assistant: answer, event: turnEvent } = turn.record;
    stampUsage(turnEvent.event, pendingCompletion(completion, [user, answer, turnEvent, turn.record.held]));
    const first = await store.commitTurn(runId, key, turn.record, completion);
    for (const cap of turn.caps) await store.settleCap(cap, runId, key, turn.record.used);
    if (!first) return recorded();
    deps.metrics.count('ModelCalls', 1, { workflow: workflow.name });
    countScreened(completion.events);
    rememberConversation(runId, step.id, [...history, turn.record.user, assistant]);
    return action;
  };

  let uses = toolUsesOf(assistant.message);
  // A step that declares what it passes on ends only with a valid pass_on call.
  const passing = step.passes ? passingOn(step, uses) : undefined;
  if (passing?.kind === 'output') {
    return commit(
      { kind: 'final' },
      {
        output: { step: step.id, value: passing.value },
        events: [
          {
            id: eventIds.stepOutput(step.id),
            event: { type: 'step_output', step: step.id, output: passing.value },
          },
        ],
      },
    );
  }
  if (passing && passing.others.length === 0)
    return commit(
      { kind: 'tools', calls: [] },
      { results: withStep(step.id, passing.results), events: passing.events },
    );
  const passResults = passing ? withStep(step.id, passing.results) : [];
  const passEvents = passing?.events ?? [];
  if (passing) uses = passing.others;
  if (uses.length === 0 || assistant.finalAnswer) {
    // A final-answer edge's last call ends the step whatever it says: its tool uses never run.
    const text = textOf(assistant.message);
    const answer = assistant.finalAnswer ? cutShortAnswer(assistant.finalAnswer.note, text) : text;
    // An answer above the threshold is kept in the payload bucket; the output is its reference.
    const output = await offloaderFor(runId, deps.payloads, deps.offloadThresholdBytes).offload(
      eventIds.stepOutput(step.id),
      answer,
    );
    return commit(
      { kind: 'final' },
      {
        output: { step: step.id, value: output },
        events: [
          {
            id: eventIds.stepOutput(step.id),
            event: { type: 'step_output', step: step.id, output: answer.slice(0, 4000) },
          },
        ],
      },
    );
  }

  const checked = await checkToolCalls({ deps, workflow, step, meta, history, uses, iteration });
  const parts = {
    results: [...passResults, ...withStep(step.id, checked.results)],
    events: [...passEvents, ...checked.events],
  };
  if (checked.stop) return commit(checked.stop, parts);

  const gated = checked.accepted.filter((c) => step.agent.tool(c.tool)?.approval);
  // Named by the turn's own tool calls too: an attempt that loses the race to record this
  // turn never shares an approval with the one that won.
  const approvalId =
    gated.length > 0 ? derivedId('ap_', runId, step.id, iteration, ...uses.map((u) => u.id)) : undefined;
  const calls = checked.accepted.map((c) =>
    approvalId && gated.includes(c) ? { ...c, approvalId, step: step.id } : { ...c, step: step.id },
  );
  const refs = refsOf(step, checked.accepted);
  if (approvalId) {
    const action = await openApproval({
      deps,
      workflow,
      step,
      meta,
      approvalId,
      gated,
      refs,
      reason: textOf(assistant.message),
    });
    return commit(action.action, { ...parts, calls, events: [...parts.events, action.event] });
  }
  return commit({ kind: 'tools', calls: refs }, { ...parts, calls });
}

/**
 * The step's conversation before this iteration and what opens it. From this
 * container's copy when the results that arrived answer its last turn
 * exactly; otherwise from DynamoDB (only the messages after the copy, when
 * there is one).
 */
async function conversationOf(
  store: AgentStepDeps['store'],
  meta: RunFacts,
  step: AgentStep,
  iteration: number,
  arrived: readonly ToolStepResult[],
  offloader: Offloader,
): Promise<{ history: StoredMessage[]; opening: Opening }> {
  const results = new Map<string, ToolResultRecord>();
  for (const r of arrived) {
    if (r.kind === 'done' && r.toolUseId && r.content !== undefined)
      results.set(r.toolUseId, { toolUseId: r.toolUseId, content: r.content, isError: r.isError === true });
  }
  const cached = cachedConversation(meta.runId, step.id);
  const last = cached?.at(-1);
  if (cached && last && last.message.role === 'assistant' && last.iteration < iteration) {
    const uses = toolUsesOf(last.message);
    const message = uses.length === results.size ? answeredBy(uses, results) : undefined;
    if (message) return { history: [...cached], opening: { kind: 'message', message } };
  }
  const after = cached && last ? last.iteration : 0;
  const fresh = await store.listMessagesAfter(meta.runId, step.id, after);
  const all = [...(after > 0 ? (cached ?? []) : []), ...fresh];
  const history = all.filter((m) => m.iteration < iteration);
  if (history.length > 0) rememberConversation(meta.runId, step.id, history);
  return { history, opening: await openingOf(store, meta, step, history, results, offloader) };
}

const ZERO = { tokens: 0, costMicros: 0 };

/** The trail's `budget_refused` for a call of turn `iteration` (`call`: a side call's, such as the summary's). */
function budgetRefused(
  step: string,
  iteration: number,
  limit: 'tokens' | 'cost' | 'steps' | 'time',
  requested: { tokens: number; costMicros: number },
  ledger: Json,
  call?: 'summary',
): KeyedEvent {
  return {
    id: eventIds.budgetRefused(step, iteration),
    event: {
      type: 'budget_refused',
      step,
      limit,
      requested: {
        tokens: requested.tokens,
        costUsd: requested.costMicros / MICROS_PER_USD,
        ...(call ? { call } : {}),
      },
      ledger,
    },
  };
}

type Turn =
  | { kind: 'answered'; record: TurnRecord; caps: string[] }
  | { kind: 'refused'; action: AgentAction; event: KeyedEvent }
  /** The next call would pass a run limit: its edge decides (see `limit-edges.ts`). */
  | { kind: 'limit'; limit: LimitName; ledger: Ledger | undefined; action: AgentAction; event?: KeyedEvent }
  /** A named stop before the call (the execution's history is near its limit). */
  | { kind: 'stopped'; action: AgentAction }
  | { kind: 'settled' };

/**
 * Reserve (or reuse the reservation this turn's claim holds) and call the
 * model. The answer is not recorded here: the caller records it with what it
 * decides, in one write. A failed call keeps the reservation for the retry;
 * the run's end releases what is left.
 */
async function callModel(args: {
  deps: AgentStepDeps;
  workflow: Workflow;
  step: AgentStep;
  meta: RunFacts;
  event: AgentStepEvent;
  key: string;
  history: readonly StoredMessage[];
  user: Message;
  /** A final-answer edge's last call, paid from this margin reservation (held under `key`). */
  final?: OpenReservation;
}): Promise<Turn> {
  const { deps, workflow, step, meta, event, key, history } = args;
  let user = args.user;
  const { store, clock } = deps;
  const { runId, iteration } = event;
  const agentDef = step.agent;
  const price = priceOf(agentDef.model, agentDef.provider.kind);
  if (!price)
    throw new ValidationError(
      `model ${agentDef.model} is not in the ${agentDef.provider.kind} price table`,
      '/model',
    );
  const tools: ToolSpec[] = agentDef.tools.map((t) => ({
    name: t.name,
    description: t.description,
    input_schema: t.input as { [key: string]: Json },
  }));
  if (step.passes)
    tools.push({
      name: PASS_ON_TOOL,
      description:
        'Finish this step: pass on exactly these fields to the steps after it. Nothing else you wrote travels on.',
      input_schema: step.passes.schema as { [key: string]: Json },
    });
  const userMessage: StoredMessage = { iteration, message: user };
  const caps = dailyCapsFor(workflow, meta, clock.now());
  // The conversation window: old tool outputs dropped, older turns folded into a summary
  // (paid from the run's ledger and its daily caps, like this call).
  let windowed: Awaited<ReturnType<typeof windowOf>>;
  try {
    windowed = await windowOf({
      deps,
      step,
      runId,
      iteration,
      system: agentDef.system,
      tools,
      history,
      user,
      caps,
    });
  } catch (err) {
    if (!(err instanceof SummaryRefusedError)) throw err;
    // The budget cannot pay for the summary this call needs: a budget stop like a refused turn
    // (through the limit's edge), not a failed execution.
    deps.metrics.count('GuardrailRejections', 1, {
      rule: err.limit ? `budget_${err.limit}` : 'budget_daily_cap',
    });
    const ledger = err.limit ? await store.getLedger(runId) : undefined;
    const event = budgetRefused(
      step.id,
      iteration,
      err.limit ?? 'tokens',
      err.wanted,
      ledger ? ledgerFigures(ledger) : { dailyCap: err.message },
      'summary',
    );
    const action = stop('BudgetExceeded', err.message);
    return err.limit
      ? { kind: 'limit', limit: err.limit, ledger, action, event }
      : { kind: 'refused', action, event };
  }
  for (const e of windowed.events) await store.appendEvent(runId, e.id, e.event);
  const sent = windowed.history;
  const inputBound = estimateInputTokens(agentDef.system, tools, sent, [user]);
  const wanted = {
    tokens: inputBound + agentDef.maxTokens,
    costMicros: worstCaseCostMicros(price, inputBound, agentDef.maxTokens),
    steps: 1,
  };
  let reservation: OpenReservation;
  if (args.final) reservation = args.final;
  else {
    const reserved = await store.reserveTurn(
      runId,
      step.id,
      iteration,
      key,
      wanted,
      iterationHistoryEvents(history),
    );
    if (reserved.kind === 'settled') return { kind: 'settled' };
    if (reserved.kind === 'refused') {
      deps.metrics.count('GuardrailRejections', 1, { rule: `budget_${reserved.limit}` });
      return {
        kind: 'limit',
        limit: reserved.limit,
        ledger: reserved.ledger,
        action: refusal(reserved.limit, reserved.ledger, wanted),
        event: budgetRefused(step.id, iteration, reserved.limit, wanted, ledgerFigures(reserved.ledger)),
      };
    }
    reservation = reserved.held;
    // A margin's hold is the final-answer edge's, taken again by its retry (`reserveMargin`): not charged here.
    if (reserved.kind === 'reused' && !reserved.held.margin) {
      // An earlier attempt held this and vanished (killed, timed out, or its record's write failed):
      // its call may be billed, so it is charged in full and as much is held again for this one.
      const lost = await store.chargeLostTurn(
        runId,
        key,
        reserved.held,
        lostCallEvent(step.id, iteration, agentDef.model, reserved.held),
      );
      if (lost.kind === 'gone')
        throw new ClaimBusyError(
          `turn ${iteration} of ${step.id} was recorded or released by another attempt`,
        );
      if (lost.kind === 'refused' && lost.cap) {
        const detail = `daily ${lost.limit === 'tokens' ? 'token' : 'cost'} cap ${lost.cap}: a call whose answer was lost is charged to it, and it cannot hold the retry (up to ${reserved.held.tokens} tokens)`;
        deps.metrics.count('GuardrailRejections', 1, { rule: 'budget_daily_cap' });
        return {
          kind: 'refused',
          action: stop('BudgetExceeded', detail),
          event: budgetRefused(step.id, iteration, lost.limit, reserved.held, { dailyCap: detail }),
        };
      }
      if (lost.kind === 'refused') {
        deps.metrics.count('GuardrailRejections', 1, { rule: `budget_${lost.limit}` });
        return {
          kind: 'limit',
          limit: lost.limit,
          ledger: lost.ledger,
          action: refusal(lost.limit, lost.ledger, wanted),
          event: budgetRefused(step.id, iteration, lost.limit, wanted, ledgerFigures(lost.ledger)),
        };
      }
    }
    // A named stop before Step Functions' history limit would fail the execution mid-iteration:
    // the ledger counts every step's and branch's iterations (this one included); a run from
    // before the count began has its step's own estimate.
    const nearLimit = historyLimitStop(
      Math.max(reserved.ledger.historyEvents ?? 0, estimatedHistoryEvents(history)),
      deps.historyEventLimit,
    );
    if (nearLimit) {
      await store.settle(runId, key, ZERO);
      return { kind: 'stopped', action: stop('HistoryLimitApproaching', nearLimit) };
    }
  }
  /** The model call failed in a way that may still have been billed. */
  let mayBeBilled = false;
  try {
    // The last call of a final-answer edge (a retry finds its margin reservation under the key).
    const finalAt = reservation.margin;
    let maxTokens = agentDef.maxTokens;
    let note: string | undefined;
    if (finalAt) {
      note = finalNote(finalAt, await store.getLedger(runId), meta, workflow, clock.now());
      user = finalUserMessage(args.user, note);
      const bound = estimateInputTokens(agentDef.system, tools, history, [user]);
      maxTokens = finalMaxTokens(price, bound, reservation, agentDef.maxTokens);
      if (maxTokens < 1) {
        await store.settle(runId, key, ZERO);
        return {
          kind: 'limit',
          limit: finalAt,
          ledger: undefined,
          action: stop(
            LIMIT_STOP[finalAt],
            `${note} No room left for a final answer: the conversation needs about ${bound} tokens, the final-answer margin holds ${reservation.tokens}`,
          ),
        };
      }
    }
    const capRefusal = await reserveCaps(store, caps, runId, key, reservation);
    if (capRefusal) {
      await store.settle(runId, key, ZERO);
      deps.metrics.count('GuardrailRejections', 1, { rule: 'budget_daily_cap' });
      return {
        kind: 'refused',
        action: stop('BudgetExceeded', capRefusal),
        event: budgetRefused(
          step.id,
          iteration,
          capRefusal.includes('token') ? 'tokens' : 'cost',
          reservation,
          {
            dailyCap: capRefusal,
          },
        ),
      };
    }

    const request: ModelRequest = {
      model: agentDef.model,
      // The client is chosen per agent: the Anthropic API or Bedrock (in its Region).
      provider:
        agentDef.provider.kind === 'bedrock'
          ? { kind: 'bedrock', ...(agentDef.provider.region ? { region: agentDef.provider.region } : {}) }
          : { kind: 'anthropic' },
      system: agentDef.system,
      // Offloaded tool results are read back for the model; the stored turns keep the references.
      messages: await resolveMessages(
        [...sent.map((h) => h.message), user],
        offloaderFor(runId, deps.payloads, deps.offloadThresholdBytes),
      ),
      tools,
      maxTokens,
      ...(finalAt ? { toolChoice: 'none' as const } : {}),
      // One conversation per agent step: parallel agents of one run are told apart.
      runId: `${runId}:${step.id}`,
    };
    const started = clock.now();
    let response: Awaited<ReturnType<ModelClient['call']>>;
    try {
      response = await deps.model.call(request);
    } catch (err) {
      // A timeout or a lost connection may have been processed and billed: its hold stays for the
      // retry to charge. Only an answered error status says nothing was billed.
      mayBeBilled = !modelCallAnswered(err);
      // Each failed attempt is its own event; its hold is given back below, and the retry reserves afresh.
      const failed: TrailEvent = {
        type: 'model_call',
        step: step.id,
        iteration,
        model: agentDef.model,
        status: 'error',
        toolsOffered: tools.map((t) => t.name),
        toolsChosen: [],
        inputTokens: 0,
        outputTokens: 0,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        costUsd: 0,
        reservedTokens: reservation.tokens,
        durationMs: clock.now() - started,
        error: err instanceof Error ? `${err.name}: ${err.message}` : String(err),
      };
      // A failed invocation is billed too: its usage rides on its error event.
      stampUsage(failed, pendingWrite(failed));
      await store.appendEvent(runId, eventIds.modelError(step.id, iteration, started), failed);
      // Named errors go to Step Functions, which retries only the retryable ones.
      if (err instanceof ChaperoneError) throw err;
      throw new ValidationError(`model call failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    const inputTokens =
      response.usage.inputTokens +
      response.usage.cacheReadInputTokens +
      response.usage.cacheCreationInputTokens;
    const used = {
      tokens: inputTokens + response.usage.outputTokens,
      costMicros: costMicros(price, response.usage),
    };
    const assistant: StoredMessage = {
      iteration,
      message: { role: 'assistant', content: response.content },
      inputTokens,
      outputTokens: response.usage.outputTokens,
      caps: caps.map((c) => c.key),
      used,
      ...(finalAt && note ? { finalAnswer: { limit: finalAt, note } } : {}),
    };
    const uses = toolUsesOf(assistant.message);
    return {
      kind: 'answered',
      caps: caps.map((c) => c.key),
      record: {
        step: step.id,
        iteration,
        user: userMessage,
        assistant,
        held: reservation,
        used,
        event: {
          id: eventIds.modelCall(step.id, iteration),
          event: {
            type: 'model_call',
            step: step.id,
            iteration,
            model: response.model,
            status: 'ok',
            toolsOffered: tools.map((t) => t.name),
            toolsChosen: uses.map((u) => u.name),
            ...(finalAt ? { edge: 'final-answer' as const } : {}),
            stopReason: response.stopReason,
            text: textOf(assistant.message).slice(0, 2000),
            inputTokens: response.usage.inputTokens,
            outputTokens: response.usage.outputTokens,
            cacheReadTokens: response.usage.cacheReadInputTokens,
            cacheWriteTokens: response.usage.cacheCreationInputTokens,
            costUsd: used.costMicros / MICROS_PER_USD,
            reservedTokens: reservation.tokens,
            durationMs: clock.now() - started,
            response: response.content as unknown as Json,
          },
        },
      },
    };
  } catch (err) {
    // Failed where it can tell nothing was billed (before the call, or the provider answered an error
    // status, recorded as its event): the hold is given back and the retry reserves afresh. An attempt
    // that vanishes, or whose call may have been billed (a timeout), leaves it held, and the retry
    // charges it (`chargeLostTurn`). A margin's hold stays: its retry takes it again.
    if (!reservation.margin && !mayBeBilled)
      await store.settle(runId, key, ZERO, { giveBackSteps: true }).catch(() => undefined);
    throw err;
  }
}

/** The tool calls as the state machine runs them, each with its arguments and its Task timeout backstop. */
function refsOf(step: AgentStep, calls: readonly PendingCall[]): ToolCallRef[] {
  return calls.map((call) => {
    const tool = step.agent.tool(call.tool);
    const fallback = tool?.fallback ? step.agent.tool(tool.fallback) : undefined;
    return {
      toolUseId: call.toolUseId,
      tool: call.tool,
      turn: call.turn,
      timeoutSeconds: (tool ? worstCaseSeconds(tool, fallback) : 60) + TASK_TIMEOUT_MARGIN_SECONDS,
      args: call.args,
      inlineMaxBytes: inlineShare(calls.length),
    };
  });
}

const withStep = <T>(step: string, items: readonly T[]) => items.map((i) => ({ ...i, step }));

const ACTION_KINDS = ['final', 'tools', 'approval', 'stop'];

/** A completed claim's action, checked: a stored shape we do not know is refused by name. */
function parseAction(value: Json | undefined): AgentAction {
  const kind = value && typeof value === 'object' && !Array.isArray(value) ? value.kind : undefined;
  if (typeof kind !== 'string' || !ACTION_KINDS.includes(kind))
    throw new CorruptRecordError(
      `the recorded action ${JSON.stringify(value)} is not one of ${ACTION_KINDS.join(', ')}`,
    );
  return value as unknown as AgentAction;
}

function stop(reason: string, detail: string): AgentAction {
  return { kind: 'stop', reason, detail };
}

function refusal(
  limit: 'tokens' | 'cost' | 'steps',
  ledger: Ledger,
  want: { tokens: number; costMicros: number },
): AgentAction {
  if (limit === 'steps') {
    return stop(
      'StepLimitExceeded',
      `step limit reached: ${ledger.stepsUsed} of ${ledger.stepLimit} agent steps used`,
    );
  }
  if (limit === 'tokens') {
    return stop(
      'BudgetExceeded',
      `token budget: ${ledger.tokensUsed} of ${ledger.tokenLimit} tokens used (${ledger.tokensRemaining} left); the next call could use up to ${want.tokens}`,
    );
  }
  return stop(
    'BudgetExceeded',
    `cost budget: $${(ledger.costUsedMicros / MICROS_PER_USD).toFixed(4)} of $${(ledger.costLimitMicros / MICROS_PER_USD).toFixed(4)} used; the next call could cost up to $${(want.costMicros / MICROS_PER_USD).toFixed(4)}`,
  );
}

/** A ledger's figures as used/limit pairs. */
export function ledgerFigures(l: Ledger): Json {
  return {
    tokens: { used: l.tokensUsed, limit: l.tokenLimit, remaining: l.tokensRemaining },
    costUsd: { used: l.costUsedMicros / MICROS_PER_USD, limit: l.costLimitMicros / MICROS_PER_USD },
    steps: { used: l.stepsUsed, limit: l.stepLimit },
    toolFailures: { count: l.toolFailures, limit: l.toolFailureLimit },
  };
}

export type { AgentStep, RunMeta, Workflow };

/**
 * What a turn of a step that declares `passes` means: its output (a valid
 * `pass_on` call made alone), or error results the model reads next — ajv's
 * message for arguments of the wrong shape, a reminder for a turn without the
 * call — with the other tool calls of the turn left to the usual checks.
 */
function passingOn(
  step: AgentStep,
  uses: readonly ToolUseBlock[],
):
  | { kind: 'output'; value: Json }
  | { kind: 'feedback'; results: ToolResultRecord[]; events: KeyedEvent[]; others: ToolUseBlock[] }
  | undefined {
  const passes = step.passes;
  if (!passes) return undefined;
  const calls = uses.filter((u) => u.name === PASS_ON_TOOL);
  const others = uses.filter((u) => u.name !== PASS_ON_TOOL);
  if (calls.length === 0)
    return others.length === 0 ? { kind: 'feedback', results: [], events: [], others } : undefined;
  const [call] = calls;
  if (calls.length === 1 && others.length === 0 && call && passes.validate(call.input))
    return { kind: 'output', value: call.input };
  const results: ToolResultRecord[] = [];
  const events: KeyedEvent[] = [];
  for (const use of calls) {
    const message =
      others.length > 0 || calls.length > 1
        ? `${PASS_ON_TOOL} ends the step: call it once, alone, after your other calls have their results.`
        : `${PASS_ON_TOOL} arguments do not match what this step passes on: ${describeErrors(passes.validate.errors)}. Call ${PASS_ON_TOOL} again with exactly the declared fields.`;
    results.push({ toolUseId: use.id, content: message, isError: true });
    events.push({
      id: eventIds.toolRejected(step.id, use.id),
      event: {
        type: 'tool_rejected',
        step: step.id,
        toolUseId: use.id,
        tool: use.name,
        args: use.input,
        rule: 'invalid_arguments',
        message,
      },
    });
  }
  return { kind: 'feedback', results, events, others };
}
