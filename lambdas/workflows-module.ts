import type { Workflow } from '../state-machines/workflow.js';

/**
 * A workflows module (the file a team points the construct at) did not
 * export what the functions need: named, with the file and the field.
 */
export class WorkflowsModuleError extends Error {
  override readonly name = 'WorkflowsModuleError';
}

/**
 * The workflows a module exports: `export const workflows = [...]` (or a
 * default export of the same). Anything else is refused, naming the file and
 * the export, so a wrong path fails at synth or cold start, not mid-run.
 */
export function workflowsOf(mod: Record<string, unknown>, file: string): readonly Workflow[] {
  const value = mod.workflows ?? mod.default;
  const where = mod.workflows !== undefined ? 'workflows' : 'default';
  if (value === undefined)
    throw new WorkflowsModuleError(
      `${file} exports no workflows: add \`export const workflows = [myWorkflow]\` (exports found: ${Object.keys(mod).join(', ') || 'none'})`,
    );
  if (!Array.isArray(value) || value.length === 0)
    throw new WorkflowsModuleError(
      `${file}: export "${where}" must be a non-empty array of workflows from defineWorkflow()`,
    );
  const names = new Set<string>();
  value.forEach((w: unknown, i) => {
    const kind = typeof w === 'object' && w !== null ? (w as { kind?: unknown }).kind : undefined;
    if (kind !== 'workflow')
      throw new WorkflowsModuleError(
        `${file}: ${where}[${i}] is not a workflow (build it with defineWorkflow())`,
      );
    const name = (w as Workflow).name;
    if (names.has(name)) throw new WorkflowsModuleError(`${file}: workflow "${name}" is exported twice`);
    names.add(name);
  });
  return value as readonly Workflow[];
}
