import { type FinishEvent, finishEventSchema } from '../../state-machines/contract.js';
import type { Workflow } from '../../state-machines/workflow.js';
import { coreDeps, type Env } from '../config.js';
import { finishRun } from '../core/finish.js';
import { memoryDeps } from '../memory-config.js';
import { eventParser } from './parse-event.js';

const parse = eventParser<FinishEvent>(finishEventSchema, 'finish');

/** Close a run, emit its metrics, record its episode (episodic memory). */
/** `app`: the workflows to serve (the application's workflows module, bound by its generated entry). */
export function createHandler(env: Env, app: readonly Workflow[]) {
  const base = coreDeps(env, 'finish', app);
  const deps = { ...base, memory: memoryDeps(env, base.db) };
  return async (event: unknown) => finishRun(parse(event), deps);
}
