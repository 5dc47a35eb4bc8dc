import { type ToolStepEvent, toolStepEventSchema } from '../../state-machines/contract.js';
import type { Workflow } from '../../state-machines/workflow.js';
import type { Env } from '../config.js';
import { runToolStep, type ToolStepDeps } from '../core/tool-step.js';
import { eventParser } from './parse-event.js';
import { snsAlerts } from './wire/alerts.js';
import { approvalStore, breakerStore, coreDeps } from './wire/store.js';
import { toolExecutor } from './wire/tools.js';

const parse = eventParser<ToolStepEvent>(toolStepEventSchema, 'tool step');

/** One tool call: timeout, retries, fallback, breaker, trim, record. */
/** `app`: the workflows to serve (the application's workflows module, bound by its generated entry). */
export function createHandler(env: Env, app: readonly Workflow[]) {
  // Built once per container: every invocation shares these clients.
  const base = coreDeps(env, 'tool-step', app);
  const deps: ToolStepDeps = {
    ...base,
    breakers: breakerStore(env, base.db),
    alerts: snsAlerts(env),
    approvals: approvalStore(env, base.db),
    execute: toolExecutor(env),
  };
  return async (event: unknown) => runToolStep(parse(event), deps);
}
