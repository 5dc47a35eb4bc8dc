import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Tool } from '../../state-machines/index.js';
import type { AgentFunction } from './agent-function.js';

/** What every Chaperone function's role holds: its own log group and X-Ray. Not the tool's doing. */
const BASELINE = new Set([
  'logs:createlogstream',
  'logs:putlogevents',
  'xray:puttracesegments',
  'xray:puttelemetryrecords',
]);

/** Verbs of actions that change something (IAM action names start with the verb). */
const WRITE_VERB =
  /^(put|update|delete|create|write|batch(?!get)|transactwrite|send|publish|invoke|purge|modify|attach|detach|start|stop|terminate|remove|add|set|tag|untag|restore|reset|execute|import|copy|upload|abort|complete|change|replace|enable|disable|associate|disassociate|register|deregister|encrypt|reencrypt|generatedatakey|sign|rotate|schedule|cancel|run|partiql(insert|update|delete)|assume|pass)/;

/** Verbs that only read; a wildcard counts as a read only when its literal part starts with one. */
const READ_VERB = /^(get|list|describe|batchget|query|scan|head|select|lookup|search|view)/;

/**
 * Whether an IAM action can change state: `*`, `service:*`, a write verb, or
 * a wildcard whose literal part does not start with a read verb (`s3:Pu*`
 * and `dynamodb:PartiQL*` can write; `dynamodb:Get*` cannot).
 */
export function isWriteAction(action: string): boolean {
  const verb = action.toLowerCase().split(':')[1] ?? '';
  const star = verb.indexOf('*');
  if (star >= 0) return !READ_VERB.test(verb.slice(0, star)) || WRITE_VERB.test(verb.slice(0, star));
  return verb === '' || WRITE_VERB.test(verb);
}

interface Statement {
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: unknown;
}

/**
 * Access classes enforced at synth: a `read` tool whose role is granted a
 * write action (any statement, inline or in a policy attached to it), or a
 * managed policy (whose contents synth cannot see), or a role shared with
 * another tool, is a finding naming the tool and the statement — unless the
 * tool was acknowledged with a reason.
 */
export function toolAccessFindings(
  tools: ReadonlyArray<{ tool: Tool; fn: AgentFunction }>,
  acknowledged: ReadonlyMap<string, string>,
): string[] {
  const findings: string[] = [];
  const byRole = new Map<string, string[]>();
  for (const { tool, fn } of tools) {
    const role = fn.role;
    if (!role) continue;
    const stack = Stack.of(fn);
    const roleRef = JSON.stringify(stack.resolve(role.roleName));
    byRole.set(roleRef, [...(byRole.get(roleRef) ?? []), tool.name]);
    if (tool.access !== 'read' || acknowledged.has(tool.name)) continue;
    const fix = `grant it read access only, declare the tool's access as 'write', or call acknowledgeToolWrite('${tool.name}', '<reason>')`;
    const policies = stack.node
      .findAll()
      .filter(
        (c): c is iam.CfnPolicy | iam.CfnManagedPolicy =>
          c instanceof iam.CfnPolicy || c instanceof iam.CfnManagedPolicy,
      );
    for (const policy of policies) {
      const roles = JSON.stringify(stack.resolve(policy.roles) ?? []);
      if (!roles.includes(roleRef)) continue;
      const document = stack.resolve(policy.policyDocument) as { Statement?: Statement[] };
      for (const statement of document.Statement ?? []) {
        if (statement.Effect === 'Deny') continue;
        if (statement.NotAction !== undefined) {
          findings.push(
            `tool "${tool.name}" is a read tool, but its role (${policy.node.path}) is granted everything but ${JSON.stringify(statement.NotAction)} (NotAction): ${fix}.`,
          );
          continue;
        }
        const actions = [statement.Action ?? []].flat();
        const writes = actions.filter((a) => !BASELINE.has(a.toLowerCase()) && isWriteAction(a));
        if (writes.length === 0) continue;
        findings.push(
          `tool "${tool.name}" is a read tool, but its role (${policy.node.path}) is granted ${writes.join(', ')} on ${JSON.stringify(statement.Resource)}: ${fix}.`,
        );
      }
    }
    const cfnRole = role.node.defaultChild as iam.CfnRole | undefined;
    const managed: unknown = stack.resolve(cfnRole?.managedPolicyArns);
    if (Array.isArray(managed) && managed.length > 0)
      findings.push(
        `tool "${tool.name}" is a read tool, but its role has managed policies ${JSON.stringify(managed)}, whose actions synth cannot check: attach statements instead, or ${fix}.`,
      );
  }
  for (const names of byRole.values())
    if (names.length > 1) findings.push(`tools ${names.join(', ')} share one role: each tool needs its own.`);
  return findings;
}
