import type { ApprovalStep, Step } from '../steps.js';
import { STOP_REASONS } from '../stop-reasons.js';
import type { Workflow } from '../workflow.js';
import { compileAgentStep } from './agent-block.js';
import {
  addState,
  type BlockContext,
  catchAll,
  type FunctionArns,
  goTo,
  jsonata,
  lambdaTask,
  platformRetry,
  type State,
  type States,
} from './context.js';

/** An Amazon States Language definition (JSONata). */
export interface AslDefinition {
  Comment: string;
  QueryLanguage: 'JSONata';
  StartAt: string;
  TimeoutSeconds: number;
  States: States;
}

const RECORD_STOP = 'Record stop';
const RECORD_FAILURE = 'Record failure';
const STOP_REASON = 'Stop reason?';
const RUN_FAILED = 'RunFailed';

/**
 * Compile a workflow to one Standard state machine definition, JSONata
 * throughout. Every stop reason ends in a Fail state of that name after the
 * run's record is closed; the execution's own `TimeoutSeconds` backs up the
 * wall-clock limit that the agent step enforces exactly.
 */
export function compileWorkflow(workflow: Workflow, arns: FunctionArns): AslDefinition {
  const states: States = {};
  const ctx: BlockContext = {
    workflow,
    arns,
    states,
    stepVar: 'step',
    stopTarget: RECORD_STOP,
    failTarget: RECORD_FAILURE,
  };

  addState(ctx, 'Start run', {
    Type: 'Pass',
    Comment:
      'The execution input is only the run id: the run itself (input, ledger, conversation) is in DynamoDB.',
    Assign: { runId: jsonata('$states.input.runId'), step: 0 },
    Next: 'Record success', // replaced below once the first step is known
  });
  const first = compileSequence(ctx, workflow.steps, 'Record success');
  (states['Start run'] as State).Next = first;

  addState(
    ctx,
    'Record success',
    lambdaTask(
      arns.finish,
      { runId: jsonata('$runId'), outcome: 'succeeded' },
      { Retry: platformRetry(), Next: 'Done' },
    ),
  );
  addState(ctx, 'Done', { Type: 'Succeed', Output: { runId: jsonata('$runId'), status: 'SUCCEEDED' } });

  addState(
    ctx,
    RECORD_STOP,
    lambdaTask(
      arns.finish,
      {
        runId: jsonata('$runId'),
        outcome: 'stopped',
        reason: jsonata('$states.input.reason'),
        detail: jsonata('$states.input.detail'),
      },
      { Output: jsonata('$states.input'), Retry: platformRetry(), Next: STOP_REASON },
    ),
  );
  addState(ctx, STOP_REASON, {
    Type: 'Choice',
    Choices: STOP_REASONS.filter((r) => r !== RUN_FAILED).map((reason) => ({
      Condition: jsonata(`$states.input.reason = '${reason}'`),
      Next: reason,
    })),
    Default: RUN_FAILED,
  });
  for (const reason of STOP_REASONS) {
    addState(ctx, reason, { Type: 'Fail', Error: reason, Cause: jsonata('$string($states.input.detail)') });
  }

  addState(
    ctx,
    RECORD_FAILURE,
    lambdaTask(
      arns.finish,
      {
        runId: jsonata('$runId'),
        outcome: 'failed',
        error: jsonata('$string($states.input.error)'),
        cause: jsonata('$string($states.input.cause)'),
      },
      {
        Output: {
          kind: 'stop',
          reason: RUN_FAILED,
          detail: jsonata(`$states.input.error & ": " & $string($states.input.cause)`),
        },
        Retry: platformRetry(),
        Next: STOP_REASON,
      },
    ),
  );

  return {
    Comment: `Chaperone workflow "${workflow.name}": ${workflow.description}`,
    QueryLanguage: 'JSONata',
    StartAt: 'Start run',
    // Backstop only: the agent step stops the run with TimeLimitExceeded at the exact limit
    // (extended by approved time extensions, at most extensions.time.max in all).
    TimeoutSeconds: workflow.limits.timeLimitSeconds + timeExtensionMax(workflow) + 300,
    States: states,
  };
}

/** The most an `ask` edge may add to the time limit, or 0 when no step asks. */
export function timeExtensionMax(workflow: Workflow): number {
  const asks = [...workflow.stepsById.values()].some(
    (st) => st.kind === 'agent' && workflow.edgeOf(st.id, 'time') === 'ask',
  );
  return asks ? workflow.extensions.time.max : 0;
}

/** Compile steps in sequence; returns the name of the first state. */
function compileSequence(ctx: BlockContext, steps: readonly Step[], next: string | null): string {
  let target = next;
  for (let i = steps.length - 1; i >= 0; i--) target = compileStep(ctx, steps[i] as Step, target);
  if (target === null) throw new Error('internal: empty sequence');
  return target;
}

function compileStep(ctx: BlockContext, step: Step, next: string | null): string {
  switch (step.kind) {
    case 'agent':
      return compileAgentStep(ctx, step, next);
    case 'chain':
      return compileSequence(ctx, step.steps, next);
    case 'code':
      addState(
        ctx,
        step.id,
        lambdaTask(
          ctx.arns.codeStep,
          { runId: jsonata('$runId'), step: step.id },
          { Comment: 'Plain code, no model.', Retry: platformRetry(), Catch: catchAll(ctx), ...goTo(next) },
        ),
      );
      return step.id;
    case 'route':
      return compileRoute(ctx, step, next);
    case 'parallel':
      return compileParallel(ctx, step, next);
    case 'approval':
      return compileApprovalStep(ctx, step, next);
  }
}

function compileRoute(
  ctx: BlockContext,
  step: Extract<Step, { kind: 'route' }>,
  next: string | null,
): string {
  const choose = `${step.id}: route?`;
  addState(
    ctx,
    step.id,
    lambdaTask(
      ctx.arns.codeStep,
      { runId: jsonata('$runId'), step: step.id },
      {
        Comment: 'Code chooses the branch; never a model.',
        Retry: platformRetry(),
        Catch: catchAll(ctx),
        Next: choose,
      },
    ),
  );
  const choices: State[] = [];
  for (const [key, branch] of Object.entries(step.branches)) {
    const start = compileStep(ctx, branch, next ?? `${step.id}: done`);
    choices.push({ Condition: jsonata(`$states.input.branch = ${JSON.stringify(key)}`), Next: start });
  }
  addState(ctx, choose, { Type: 'Choice', Choices: choices, Default: `${step.id}: no route` });
  addState(ctx, `${step.id}: no route`, {
    Type: 'Pass',
    Output: {
      kind: 'stop',
      reason: 'RunFailed',
      detail: jsonata(`"route ${step.id} chose no known branch: " & $string($states.input.branch)`),
    },
    Next: ctx.stopTarget,
  });
  if (next === null) addState(ctx, `${step.id}: done`, { Type: 'Pass', End: true });
  return step.id;
}

/**
 * A Parallel state; each branch has its own step counter seeded from the outer
 * one, and ends its stops in a Fail named by the reason, which the Parallel's
 * Catch turns back into a recorded stop.
 */
function compileParallel(
  ctx: BlockContext,
  step: Extract<Step, { kind: 'parallel' }>,
  next: string | null,
): string {
  const depth = Number(ctx.stepVar.replace(/\D/g, '') || '0') + 1;
  const branchVar = `step${depth}`;
  const branches = step.branches.map((branch, i) => {
    const states: States = {};
    const seed = `${step.id}[${i}]: start`;
    const branchCtx: BlockContext = {
      ...ctx,
      states,
      stepVar: branchVar,
      stopTarget: `${step.id}[${i}]: stop`,
      failTarget: `${step.id}[${i}]: failed`,
    };
    addState(branchCtx, seed, {
      Type: 'Pass',
      Assign: { [branchVar]: jsonata(`$${ctx.stepVar}`) },
      Next: seed,
    });
    const start = compileStep(branchCtx, branch, null);
    (states[seed] as State).Next = start;
    addState(branchCtx, branchCtx.stopTarget, {
      Type: 'Fail',
      Error: jsonata('$states.input.reason'),
      Cause: jsonata('$string($states.input.detail)'),
    });
    addState(branchCtx, branchCtx.failTarget, {
      Type: 'Fail',
      Error: jsonata('$string($states.input.error)'),
      Cause: jsonata('$string($states.input.cause)'),
    });
    return { StartAt: seed, States: states };
  });
  addState(ctx, step.id, {
    Type: 'Parallel',
    Comment: "Independent branches; none reads a sibling's output (checked at definition time).",
    Branches: branches,
    Output: { kind: 'done' },
    Catch: [
      {
        ErrorEquals: STOP_REASONS.filter((r) => r !== RUN_FAILED),
        Next: ctx.stopTarget,
        Output: {
          kind: 'stop',
          reason: jsonata('$states.errorOutput.Error'),
          detail: jsonata('$string($states.errorOutput.Cause)'),
        },
      },
      ...catchAll(ctx),
    ],
    ...goTo(next),
  });
  return step.id;
}

function compileApprovalStep(ctx: BlockContext, step: ApprovalStep, next: string | null): string {
  const decide = `${step.id}: decided?`;
  const expire = `${step.id}: expired`;
  const escalate = `${step.id}: escalation`;
  const remind = `${step.id}: reminder`;
  const remindBefore = step.remindBeforeSeconds;
  // With a reminder the wait is split: the first part, then the reminder email and the rest.
  const timeouts = {
    request: remindBefore > 0 ? step.timeoutSeconds - remindBefore : step.timeoutSeconds,
    remind: remindBefore,
    escalate: step.timeoutSeconds,
  };
  const onTimeout = { request: remindBefore > 0 ? remind : expire, remind: expire, escalate: expire };
  const gate = (phase: 'request' | 'remind' | 'escalate'): State => ({
    Type: 'Task',
    Comment: `Human approval (${phase}); the task token never leaves the server.`,
    Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
    Arguments: {
      FunctionName: ctx.arns.approvalRequest,
      Payload: {
        runId: jsonata('$runId'),
        step: step.id,
        phase,
        taskToken: jsonata('$states.context.Task.Token'),
      },
    },
    TimeoutSeconds: timeouts[phase],
    Retry: platformRetry(),
    Catch: [{ ErrorEquals: ['States.Timeout'], Next: onTimeout[phase] }, ...catchAll(ctx)],
    Next: decide,
  });
  addState(ctx, step.id, gate('request'));
  if (remindBefore > 0) addState(ctx, remind, gate('remind'));
  addState(ctx, escalate, gate('escalate'));
  addState(
    ctx,
    expire,
    lambdaTask(
      ctx.arns.approvalRequest,
      { runId: jsonata('$runId'), step: step.id, phase: 'expire' },
      { Retry: platformRetry(), Catch: catchAll(ctx), Next: decide },
    ),
  );
  const after = next ?? `${step.id}: done`;
  addState(ctx, decide, {
    Type: 'Choice',
    Choices: [
      { Condition: jsonata(`$states.input.decision = 'approved'`), Next: after },
      { Condition: jsonata(`$states.input.decision = 'escalate'`), Next: escalate },
    ],
    Default: `${step.id}: rejected`,
  });
  addState(ctx, `${step.id}: rejected`, {
    Type: 'Pass',
    Output: {
      kind: 'stop',
      reason: 'ApprovalRejected',
      detail: jsonata(`"${step.id} was not approved (" & $string($states.input.decidedBy) & ")"`),
    },
    Next: ctx.stopTarget,
  });
  if (next === null) addState(ctx, after, { Type: 'Pass', End: true });
  return step.id;
}

export type { FunctionArns };
