/**
 * A workflow, agent or tool declaration that cannot work. Thrown at definition
 * time (module load, `cdk synth`, test import), never at run time.
 */
export class WorkflowDefinitionError extends Error {
  override readonly name = 'WorkflowDefinitionError';

  constructor(
    /** What was being defined, e.g. `tool "lookup_invoice"` or `agent "reconciler"`. */
    readonly subject: string,
    message: string,
  ) {
    super(`${subject}: ${message}`);
  }
}
