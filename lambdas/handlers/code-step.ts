import { type CodeStepEvent, codeStepEventSchema } from '../../state-machines/contract.js';
import type { Workflow } from '../../state-machines/workflow.js';
import type { Env } from '../config.js';
import { runCodeStep } from '../core/code-step.js';
import { eventParser } from './parse-event.js';
import { coreDeps } from './wire/store.js';

const parse = eventParser<CodeStepEvent>(codeStepEventSchema, 'code step');

/** A code step or a route's chooser. */
/** `app`: the workflows to serve (the application's workflows module, bound by its generated entry). */
export function createHandler(env: Env, app: readonly Workflow[]) {
  const deps = coreDeps(env, 'code-step', app);
  return async (event: unknown) => runCodeStep(parse(event), deps);
}
