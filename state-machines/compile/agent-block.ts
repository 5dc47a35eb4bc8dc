import type { AgentStep } from '../steps.js';
import {
  addState,
  type BlockContext,
  catchAll,
  jsonata,
  LAMBDA_RETRYABLE,
  lambdaTask,
  lit,
  platformRetry,
  STEP_RETRYABLE,
} from './context.js';

/** Model errors an agent step may retry at the orchestration layer (after the SDK's own retries). */
const MODEL_RETRYABLE = ['ModelThrottledError', 'ModelUnavailableError'];

/**
 * A tool step's event (`ToolStepEvent`), with the Task's own retry count: a
 * retry may find the call completed by an earlier attempt.
 */
const toolStepPayload = (runId: unknown, step: unknown, call: unknown): Record<string, unknown> => ({
  runId,
  step,
  call,
  retry: jsonata('$states.context.State.RetryCount'),
});

/**
 * The agent loop of one agent step:
 *
 * ```
 * <id> (model call) → <id>: next? ─ final → next
 *                                  ├ stop / step limit → stopTarget
 *                                  ├ approval → <id>: approval → <id>: tools (Map) or back
 *                                  ├ one tool call → <id>: tool → <id>
 *                                  └ several → <id>: tools (Map) → <id>
 * ```
 * A turn with one tool call is three state transitions (model call, choice,
 * tool call); the Map is only for several calls at once. The tool steps'
 * results go straight back to the model call, which hands on a stop or an
 * approval a tool step asked for without calling the model (`passThrough`,
 * not counted as a step). The step limit is checked here on a state machine
 * variable, independent of the Lambda's own ledger check.
 *
 * The calls an approval gate runs are the ones the agent step accepted, held
 * in `$pendingCalls`: what the gate's callback says can only leave some out.
 */
export function compileAgentStep(ctx: BlockContext, step: AgentStep, next: string | null): string {
  const { arns, workflow, stepVar } = ctx;
  const id = step.id;
  const names = {
    call: id,
    choose: `${id}: next?`,
    stepLimit: `${id}: step limit`,
    tool: `${id}: tool`,
    tools: `${id}: tools`,
    approval: `${id}: approval`,
    afterApproval: `${id}: after approval?`,
    escalate: `${id}: escalation`,
    remind: `${id}: reminder`,
    remind_: `${id}: remind?`,
    extended: `${id}: extended`,
    expire: `${id}: approval expired`,
    unexpected: `${id}: unexpected action`,
    done: `${id}: done`,
  };
  // An `ask` edge on steps may extend the ledger's step limit: the state machine's own
  // check allows at most the workflow's extension maximum on top.
  const maxSteps =
    workflow.limits.maxSteps + (workflow.edgeOf(id, 'steps') === 'ask' ? workflow.extensions.steps.max : 0);

  addState(
    ctx,
    names.call,
    lambdaTask(
      arns.agentStep,
      // The tool results of the turn before arrive with the call (`toolResults`), so it need not read them.
      jsonata(
        `$merge([{ "runId": $runId, "step": ${lit(id)}, "iteration": $${stepVar} + 1 }, $states.input.kind = 'toolResults' ? { "results": $states.input.results } : {}])`,
      ) as unknown as Record<string, unknown>,
      {
        Comment: `Agent "${step.agent.name}": one model call, every requested tool call checked before anything runs.`,
        Assign: {
          [stepVar]: jsonata(`$states.result.Payload.passThrough = true ? $${stepVar} : $${stepVar} + 1`),
        },
        Retry: platformRetry(MODEL_RETRYABLE),
        Catch: catchAll(ctx),
        Next: names.choose,
      },
    ),
  );

  const finalTarget = next ?? names.done;
  addState(ctx, names.choose, {
    Type: 'Choice',
    Choices: [
      { Condition: jsonata(`$states.input.kind = 'stop'`), Next: ctx.stopTarget },
      { Condition: jsonata(`$states.input.kind = 'final'`), Next: finalTarget },
      { Condition: jsonata(`$${stepVar} >= ${maxSteps}`), Next: names.stepLimit },
      {
        Condition: jsonata(`$states.input.kind = 'approval'`),
        Next: names.approval,
        Assign: {
          approvalId: jsonata('$states.input.approvalId'),
          approvalTimeout: jsonata('$states.input.timeoutSeconds'),
          // The wait after the reminder (0: none), and the escalation's whole wait.
          approvalRemind: jsonata('$exists($states.input.remindSeconds) ? $states.input.remindSeconds : 0'),
          approvalEscalate: jsonata(
            '$states.input.timeoutSeconds + ($exists($states.input.remindSeconds) ? $states.input.remindSeconds : 0)',
          ),
          pendingCalls: jsonata('$states.input.calls'),
        },
      },
      {
        Condition: jsonata(`$states.input.kind = 'tools' and $count($states.input.calls) = 1`),
        Next: names.tool,
      },
      { Condition: jsonata(`$states.input.kind = 'tools'`), Next: names.tools },
    ],
    Default: names.unexpected,
  });
  if (next === null) addState(ctx, names.done, { Type: 'Pass', Output: { step: id }, End: true });

  addState(ctx, names.stepLimit, {
    Type: 'Pass',
    Output: {
      kind: 'stop',
      reason: 'StepLimitExceeded',
      detail: jsonata(`"step limit reached: " & $string($${stepVar}) & " of ${maxSteps} agent steps used"`),
    },
    Next: ctx.stopTarget,
  });
  addState(ctx, names.unexpected, {
    Type: 'Pass',
    Output: {
      kind: 'stop',
      reason: 'RunFailed',
      detail: jsonata(`"agent step returned an unknown action: " & $string($states.input)`),
    },
    Next: ctx.stopTarget,
  });

  // A tool step that failed past its retries answers the model as a call that did not complete.
  const failedCall = {
    kind: 'done',
    status: 'error',
    error: jsonata('$states.errorOutput.Error'),
  };
  addState(
    ctx,
    names.tool,
    lambdaTask(arns.toolStep, toolStepPayload(jsonata('$runId'), id, jsonata('$states.input.calls[0]')), {
      Comment: 'The one requested tool call, with a Task timeout as the backstop.',
      TimeoutSeconds: jsonata('$states.input.calls[0].timeoutSeconds'),
      Retry: platformRetry(),
      Catch: [
        {
          ErrorEquals: ['States.ALL'],
          Next: names.call,
          Output: { kind: 'toolResults', results: [failedCall] },
        },
      ],
      Output: jsonata(`{ "kind": "toolResults", "results": [$states.result.Payload] }`),
      Next: names.call,
    }),
  );
  addState(ctx, names.tools, {
    Type: 'Map',
    Comment: 'Each requested tool call in its own tool-step invocation, with a Task timeout as the backstop.',
    Items: jsonata('$states.input.calls'),
    ItemSelector: { runId: jsonata('$runId'), step: id, call: jsonata('$states.context.Map.Item.Value') },
    MaxConcurrency: 10,
    ItemProcessor: {
      ProcessorConfig: { Mode: 'INLINE' },
      StartAt: 'Tool call',
      States: {
        'Tool call': lambdaTask(
          arns.toolStep,
          toolStepPayload(
            jsonata('$states.input.runId'),
            jsonata('$states.input.step'),
            jsonata('$states.input.call'),
          ),
          {
            TimeoutSeconds: jsonata('$states.input.call.timeoutSeconds'),
            Retry: platformRetry(),
            Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Tool step failed', Output: failedCall }],
            End: true,
          },
        ),
        'Tool step failed': { Type: 'Pass', End: true },
      },
    },
    // The model call decides what the results mean: a stop wins, then a human's question.
    Output: jsonata(`{ "kind": "toolResults", "results": $append([], $states.result) }`),
    Next: names.call,
  });

  const gateTask = (phase: 'request' | 'remind' | 'escalate'): Record<string, unknown> => ({
    Type: 'Task',
    Comment: {
      request: 'Human gate on tool calls: the token is stored server-side; the approvers get a signed link.',
      remind: 'The gate is about to time out: the approvers are reminded (a new token, the same link).',
      escalate: 'The gate timed out and escalates: the escalation approvers get a signed link.',
    }[phase],
    Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
    Arguments: {
      FunctionName: arns.approvalRequest,
      Payload: {
        runId: jsonata('$runId'),
        step: id,
        approvalId: jsonata('$approvalId'),
        phase,
        taskToken: jsonata('$states.context.Task.Token'),
      },
    },
    TimeoutSeconds: jsonata(
      { request: '$approvalTimeout', remind: '$approvalRemind', escalate: '$approvalEscalate' }[phase],
    ),
    Output: jsonata('$states.result'),
    Retry: [
      {
        ErrorEquals: [...LAMBDA_RETRYABLE, ...STEP_RETRYABLE],
        IntervalSeconds: 2,
        MaxAttempts: 3,
        BackoffRate: 2,
        JitterStrategy: 'FULL',
      },
    ],
    Catch: [
      { ErrorEquals: ['States.Timeout'], Next: phase === 'request' ? names.remind_ : names.expire },
      ...catchAll(ctx),
    ],
    Next: names.afterApproval,
  });
  // $approvalId and the timeouts are assigned from the agent step's action by the Choice.
  addState(ctx, names.approval, gateTask('request'));
  addState(ctx, names.remind_, {
    Type: 'Choice',
    Choices: [{ Condition: jsonata('$approvalRemind > 0'), Next: names.remind }],
    Default: names.expire,
  });
  addState(ctx, names.remind, gateTask('remind'));
  addState(ctx, names.escalate, gateTask('escalate'));
  // An approved extension: the same iteration again, on the extended ledger (no tool results).
  addState(ctx, names.extended, { Type: 'Pass', Output: { kind: 'extended' }, Next: names.call });
  addState(
    ctx,
    names.expire,
    lambdaTask(
      arns.approvalRequest,
      { runId: jsonata('$runId'), step: id, approvalId: jsonata('$approvalId'), phase: 'expire' },
      { Retry: platformRetry(), Catch: catchAll(ctx), Next: names.afterApproval },
    ),
  );
  addState(ctx, names.afterApproval, {
    Type: 'Choice',
    Choices: [
      { Condition: jsonata(`$states.input.decision = 'escalate'`), Next: names.escalate },
      { Condition: jsonata(`$states.input.decision = 'extended'`), Next: names.extended },
      {
        // A rejected or expired extension: the named stop of the limit it asked about.
        Condition: jsonata(`$states.input.decision = 'rejected' and $exists($states.input.reason)`),
        Next: ctx.stopTarget,
        Output: {
          kind: 'stop',
          reason: jsonata('$states.input.reason'),
          detail: jsonata('$states.input.detail'),
        },
      },
      {
        Condition: jsonata(`$states.input.decision = 'rejected' and $states.input.stop = true`),
        Next: ctx.stopTarget,
        Output: {
          kind: 'stop',
          reason: 'ApprovalRejected',
          detail: jsonata(`"rejected by " & $string($states.input.decidedBy)`),
        },
      },
      {
        // Approved: every call runs. Rejected (feedback): only the calls that needed no
        // approval run; the model reads the rejection as the gated calls' results. The calls
        // are the agent step's own ($pendingCalls): the decision can only leave some out.
        Condition: jsonata(`$states.input.decision = 'approved' or $states.input.decision = 'rejected'`),
        Next: names.tools,
        Output: {
          kind: 'tools',
          calls: jsonata(
            `$append([], $filter($pendingCalls, function($c) { $c.toolUseId in $append([], $states.input.calls).toolUseId }))`,
          ),
        },
      },
    ],
    Default: names.unexpected,
  });
  return names.call;
}
