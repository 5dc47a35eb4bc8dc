import type { CodeStepEvent, CodeStepResult } from '../../state-machines/contract.js';
import { claimKeys, completeOnce, eventIds } from './claims.js';
import type { CoreDeps } from './deps.js';
import { CorruptRecordError, NotFoundError, ValidationError } from './errors.js';
import { jsonOf } from './json-value.js';
import type { Json } from './model.js';
import { offloaderFor, resolveOutputs } from './offload.js';
import type { Completion } from './run-records.js';
import { outputsFor } from './step-outputs.js';
import { pendingCompletion, stampUsage } from './usage.js';

/**
 * Run a code step (plain function) or a route's chooser with only the outputs
 * it declared. A route's output is the chosen branch's key.
 */
export async function runCodeStep(event: CodeStepEvent, deps: CoreDeps): Promise<CodeStepResult> {
  const key = claimKeys.code(event.step);
  const claim = await deps.store.getClaim(event.runId, key);
  if (claim?.state === 'done') return parseResult(claim.result);
  const meta = await deps.store.getRun(event.runId);
  if (!meta) throw new NotFoundError(`run ${event.runId} does not exist`);
  const step = deps.workflows.get(meta.workflow)?.stepsById.get(event.step);
  if (!step || (step.kind !== 'code' && step.kind !== 'route')) {
    throw new ValidationError(`step ${event.step} of ${meta.workflow} is not a code or route step`, '/step');
  }
  const offloader = offloaderFor(event.runId, deps.payloads, deps.offloadThresholdBytes);
  const outputs = await outputsFor(deps.store, event.runId, step.needs, (o) => resolveOutputs(o, offloader));
  const context = { runId: event.runId, input: meta.input, outputs };
  const complete = async (result: CodeStepResult, value: Json): Promise<CodeStepResult> => {
    // An output above the threshold is kept in the payload bucket; output and trail hold its reference.
    const output = await offloader.offload(eventIds.stepOutput(step.id), value);
    const completion: Completion = {
      result,
      output: { step: step.id, value: output },
      events: [{ id: eventIds.stepOutput(step.id), event: { type: 'step_output', step: step.id, output } }],
    };
    // The invocation's usage rides on its step_output event, counting this write (usage.ts).
    const [outputEvent] = completion.events ?? [];
    if (outputEvent) stampUsage(outputEvent.event, pendingCompletion(completion));
    const done = await completeOnce(deps.store, event.runId, key, completion);
    return done.first ? result : parseResult(done.result);
  };
  if (step.kind === 'route') {
    const branch = await step.choose(context);
    return complete({ kind: 'done', branch }, { branch });
  }
  return complete({ kind: 'done' }, jsonOf(await step.run(context), `code step ${step.id}'s output`));
}

function parseResult(value: Json | undefined): CodeStepResult {
  if (!value || typeof value !== 'object' || Array.isArray(value) || value.kind !== 'done')
    throw new CorruptRecordError(
      `the recorded code step result ${JSON.stringify(value)} is not { kind: "done" }`,
    );
  return typeof value.branch === 'string' ? { kind: 'done', branch: value.branch } : { kind: 'done' };
}
