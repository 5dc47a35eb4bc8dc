import type { CodeStepEvent, CodeStepResult } from '../../state-machines/contract.js';
import type { CoreDeps } from './deps.js';
import { NotFoundError, ValidationError } from './errors.js';
import type { Json } from './model.js';

/**
 * Run a code step (plain function) or a route's chooser with only the outputs
 * it declared. A route's output is the chosen branch's key.
 */
export async function runCodeStep(event: CodeStepEvent, deps: CoreDeps): Promise<CodeStepResult> {
  const meta = await deps.store.getRun(event.runId);
  if (!meta) throw new NotFoundError(`run ${event.runId} does not exist`);
  const step = deps.workflows.get(meta.workflow)?.stepsById.get(event.step);
  if (!step || (step.kind !== 'code' && step.kind !== 'route')) {
    throw new ValidationError(`step ${event.step} of ${meta.workflow} is not a code or route step`, '/step');
  }
  const outputs = await deps.store.getStepOutputs(event.runId, step.needs);
  const context = { runId: event.runId, input: meta.input, outputs };
  if (step.kind === 'route') {
    const branch = await step.choose(context);
    await deps.store.putStepOutput(event.runId, step.id, { branch });
    await deps.store.appendEvent(event.runId, { type: 'step_output', step: step.id, output: { branch } });
    return { kind: 'done', branch };
  }
  const output = toJson(await step.run(context));
  await deps.store.putStepOutput(event.runId, step.id, output);
  await deps.store.appendEvent(event.runId, { type: 'step_output', step: step.id, output });
  return { kind: 'done' };
}

function toJson(value: unknown): Json {
  return JSON.parse(JSON.stringify(value ?? null)) as Json;
}
