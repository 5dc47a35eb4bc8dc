import type { Agent } from '../../state-machines/agent.js';
import { ACCESS_ORDER, type Tool } from '../../state-machines/tool.js';

export type PolicyDecision = { allowed: true } | { allowed: false; rule: string; message: string };

/**
 * The output guardrail every tool call passes before it runs: the tool's
 * access class must not exceed the agent's access level, and the deny list wins.
 */
export function checkToolPolicy(agent: Agent, tool: Tool): PolicyDecision {
  if (agent.deny.includes(tool.name)) {
    return {
      allowed: false,
      rule: 'deny_list',
      message: `tool "${tool.name}" is on agent "${agent.name}"'s deny list`,
    };
  }
  if (ACCESS_ORDER.indexOf(tool.access) > ACCESS_ORDER.indexOf(agent.access)) {
    return {
      allowed: false,
      rule: 'access_class',
      message: `agent "${agent.name}" has ${agent.access} access; tool "${tool.name}" is ${tool.access}`,
    };
  }
  return { allowed: true };
}
