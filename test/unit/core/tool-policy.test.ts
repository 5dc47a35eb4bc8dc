import { describe, expect, it } from 'vitest';
import { checkToolPolicy } from '../../../lambdas/core/tool-policy.js';
import { defineAgent } from '../../../state-machines/agent.js';
import { type AccessClass, defineTool } from '../../../state-machines/tool.js';

const tool = (name: string, access: AccessClass) =>
  defineTool({
    name,
    description: `${name} (${access})`,
    input: { type: 'object', properties: {}, additionalProperties: false } as const,
    access,
    run: async () => ({}),
  });

const read = tool('get_invoice', 'read');
const write = tool('update_invoice', 'write');
const external = tool('email_vendor', 'external');
const destructive = tool('void_invoice', 'destructive');
const all = [read, write, external, destructive];

const agentWith = (access: AccessClass | undefined, deny: string[] = []) =>
  defineAgent({
    name: 'clerk',
    model: 'claude-haiku-4-5',
    system: 's',
    tools: all,
    ...(access ? { access } : {}),
    deny,
  });

describe('checkToolPolicy', () => {
  it('allows tools at or below the agent access level', () => {
    const agent = agentWith('external');

    for (const t of [read, write, external]) expect(checkToolPolicy(agent, t)).toEqual({ allowed: true });
  });

  it('refuses a tool above the agent access level, naming both classes', () => {
    const decision = checkToolPolicy(agentWith('read'), write);

    expect(decision).toEqual({
      allowed: false,
      rule: 'access_class',
      message: 'agent "clerk" has read access; tool "update_invoice" is write',
    });
  });

  it('orders the classes read < write < external < destructive', () => {
    const levels: AccessClass[] = ['read', 'write', 'external', 'destructive'];
    for (const [i, level] of levels.entries()) {
      const agent = agentWith(level);
      const allowed = all.map((t) => checkToolPolicy(agent, t).allowed);
      expect(allowed).toEqual(levels.map((_, j) => j <= i));
    }
  });

  it('defaults the agent to the highest class among its tools', () => {
    expect(checkToolPolicy(agentWith(undefined), destructive)).toEqual({ allowed: true });
  });

  it('lets the deny list win, even for a read tool the agent could otherwise call', () => {
    const decision = checkToolPolicy(agentWith('destructive', ['get_invoice']), read);

    expect(decision).toMatchObject({ allowed: false, rule: 'deny_list' });
    if (!decision.allowed) expect(decision.message).toContain('get_invoice');
  });
});
