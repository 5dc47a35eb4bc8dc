import type { AgentAction } from '../../state-machines/contract.js';
import { describeErrors } from '../../state-machines/schema.js';
import type { AgentStep } from '../../state-machines/steps.js';
import type { Tool } from '../../state-machines/tool.js';
import type { Workflow } from '../../state-machines/workflow.js';
import type { AgentStepDeps } from './agent-step.js';
import { canonicalJson } from './canonical.js';
import { eventIds } from './claims.js';
import { toolUsesOf } from './conversation.js';
import type { Json, ToolUseBlock } from './model.js';
import type { KeyedEvent, PendingCall, RunFacts, StoredMessage, ToolResultRecord } from './run-records.js';
import { checkToolPolicy } from './tool-policy.js';

export interface CheckedCalls {
  /** Calls that passed every check, to be written as pending calls. */
  accepted: PendingCall[];
  /** Error results for the calls refused (the model reads them next turn). */
  results: ToolResultRecord[];
  /** The trail events of the refusals. */
  events: KeyedEvent[];
  /** Set when a check stops the run. */
  stop?: AgentAction;
}

/**
 * The three layers before anything runs, plus policy and loop detection, for
 * every tool call the model asked for. Rejected calls get an error result the
 * model will read on its next turn; they never reach a tool. Nothing is
 * written here: the results and events become part of the turn's completion.
 */
export async function checkToolCalls(args: {
  deps: AgentStepDeps;
  workflow: Workflow;
  step: AgentStep;
  meta: RunFacts;
  history: readonly StoredMessage[];
  uses: readonly ToolUseBlock[];
  iteration: number;
}): Promise<CheckedCalls> {
  const { deps, workflow, step, meta, uses, iteration } = args;
  const agent = step.agent;
  const accepted: PendingCall[] = [];
  const results: ToolResultRecord[] = [];
  const events: KeyedEvent[] = [];
  const seen = countPriorCalls(args.history);
  const done = (stop?: AgentAction): CheckedCalls => ({
    accepted,
    results,
    events,
    ...(stop ? { stop } : {}),
  });

  /** The refusal's trail event; `reject` also gives the model an error result to read. */
  const recordRejection = (
    use: ToolUseBlock,
    rule: 'unknown_tool' | 'invalid_arguments' | 'policy' | 'loop',
    message: string,
  ) =>
    events.push({
      id: eventIds.toolRejected(step.id, use.id),
      event: {
        type: 'tool_rejected',
        step: step.id,
        toolUseId: use.id,
        tool: use.name,
        args: use.input,
        rule,
        message,
      },
    });
  const reject = (
    use: ToolUseBlock,
    rule: 'unknown_tool' | 'invalid_arguments' | 'policy',
    message: string,
  ) => {
    results.push({ toolUseId: use.id, content: message, isError: true });
    recordRejection(use, rule, message);
    deps.metrics.count('ToolCallRejections', 1, { rule });
  };

  for (const use of uses) {
    const tool = agent.tool(use.name);
    const elsewhere = tool ? undefined : findToolInWorkflow(workflow, use.name);
    if (!tool && !elsewhere) {
      reject(
        use,
        'unknown_tool',
        `Error: there is no tool named "${use.name}". Available tools: ${agent.tools.map((t) => t.name).join(', ')}. Call one of these by its exact name.`,
      );
      continue;
    }
    const policy = tool ? checkToolPolicy(agent, tool) : notGranted(agent.name, elsewhere as Tool);
    if (!policy.allowed) {
      const message = `Blocked by policy (${policy.rule}): ${policy.message}. This call was not run and has been reported.`;
      reject(use, 'policy', message);
      events.push({
        id: eventIds.guardrail(`policy_${policy.rule}`, step.id, use.id),
        event: { type: 'guardrail', rule: `policy_${policy.rule}`, message: policy.message, step: step.id },
      });
      deps.metrics.count('GuardrailRejections', 1, { rule: `policy_${policy.rule}` });
      await deps.alerts.publish({
        subject: `Chaperone: policy violation in run ${meta.runId}`,
        message: JSON.stringify({
          runId: meta.runId,
          workflow: workflow.name,
          step: step.id,
          tool: use.name,
          rule: policy.rule,
          detail: policy.message,
          args: use.input,
        }),
        attributes: { rule: policy.rule, workflow: workflow.name, severity: 'high' },
      });
      if (agent.onPolicyViolation === 'stop') {
        return done({
          kind: 'stop',
          reason: 'PolicyViolation',
          detail: `${policy.message} (tool call ${use.id})`,
        });
      }
      continue;
    }
    const validTool = tool as Tool;
    if (!validTool.validate(use.input)) {
      reject(
        use,
        'invalid_arguments',
        `Error: the arguments for ${use.name} are invalid: ${describeErrors(validTool.validate.errors)}. The input schema is ${JSON.stringify(validTool.input)}. Fix the arguments and call it again.`,
      );
      continue;
    }
    const key = `${use.name}\u0000${canonicalJson(use.input)}`;
    const count = (seen.get(key) ?? 0) + 1;
    seen.set(key, count);
    if (count > agent.maxIdenticalCalls) {
      const detail = `${use.name} was requested ${count} times with the same arguments ${canonicalJson(use.input)} (at most ${agent.maxIdenticalCalls} allowed)`;
      recordRejection(use, 'loop', detail);
      deps.metrics.count('GuardrailRejections', 1, { rule: 'loop' });
      return done({ kind: 'stop', reason: 'LoopDetected', detail });
    }
    accepted.push({ toolUseId: use.id, tool: use.name, args: use.input as Json, turn: iteration });
  }
  return done();
}

/** Identical calls (same tool, same canonical arguments) already made in this step. */
function countPriorCalls(history: readonly StoredMessage[]): Map<string, number> {
  const seen = new Map<string, number>();
  for (const h of history) {
    if (h.message.role !== 'assistant') continue;
    for (const use of toolUsesOf(h.message)) {
      const key = `${use.name}\u0000${canonicalJson(use.input)}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  return seen;
}

function findToolInWorkflow(workflow: Workflow, name: string): Tool | undefined {
  for (const s of workflow.stepsById.values()) {
    if (s.kind !== 'agent') continue;
    const t = s.agent.tool(name);
    if (t) return t;
  }
  return undefined;
}

function notGranted(agentName: string, tool: Tool) {
  return {
    allowed: false as const,
    rule: 'not_granted',
    message: `agent "${agentName}" was not given tool "${tool.name}" (${tool.access})`,
  };
}
