import { type ToolStepEvent, toolStepEventSchema } from '../../state-machines/contract.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { alerts, approvalStore, breakerStore, coreDeps, type Env, toolExecutor } from '../config.js';
import { runToolStep } from '../core/tool-step.js';
import { eventParser } from './parse-event.js';

const parse = eventParser<ToolStepEvent>(toolStepEventSchema, 'tool step');

/** One tool call: timeout, retries, fallback, breaker, trim, record. */
/** `app`: the workflows to serve (the application's workflows module, bound by its generated entry). */
export function createHandler(env: Env, app: readonly Workflow[]) {
  const base = coreDeps(env, 'tool-step', app);
  const deps = {
    ...base,
    breakers: breakerStore(env, base.db),
    alerts: alerts(env),
    approvals: approvalStore(env, base.db),
    execute: toolExecutor(env),
  };
  return async (event: unknown) => runToolStep(parse(event), deps);
}
