import type { CoreDeps } from '../deps.js';
import type { Json } from '../model.js';
import type { MemoryDeps } from './context.js';

type Reply = { status: number; body: Json };

/** The episode of a run, found through the run's own record (its workflow and tenant are the episode's key). */
async function locate(runId: string | undefined, deps: CoreDeps & { memory?: MemoryDeps | undefined }) {
  if (!runId)
    return {
      reply: {
        status: 400,
        body: { error: 'ValidationError', field: '/id', message: 'the run id is missing' },
      },
    };
  const episodes = deps.memory?.episodes;
  if (!episodes)
    return {
      reply: {
        status: 404,
        body: { error: 'NotFoundError', message: 'this stack keeps no episodic memory' },
      },
    };
  const meta = await deps.store.getRun(runId);
  if (!meta)
    return {
      reply: { status: 404, body: { error: 'NotFoundError', message: `run ${runId} does not exist` } },
    };
  return { episodes, workflow: meta.workflow, tenant: meta.tenant ?? '' };
}

/**
 * `DELETE /runs/{id}/memory`: the right to be forgotten. Deletes the run's
 * episode, so it never again reaches another run's context. The run's own
 * record and trail stay in the Runs table under its retention.
 */
export async function forgetRun(
  runId: string | undefined,
  deps: CoreDeps & { memory?: MemoryDeps | undefined },
): Promise<Reply> {
  const found = await locate(runId, deps);
  if ('reply' in found) return found.reply as Reply;
  const deleted = await found.episodes.delete(found.workflow, found.tenant, runId as string);
  if (!deleted)
    return { status: 404, body: { error: 'NotFoundError', message: `run ${runId} has no episode` } };
  deps.log.info('episode forgotten', { runId: runId as string, workflow: found.workflow });
  return { status: 200, body: { runId: runId as string, forgotten: true } };
}

/** `PUT /runs/{id}/memory {"example": false}`: whether the run may become an example for later runs. */
export async function markExample(
  runId: string | undefined,
  body: string | null,
  deps: CoreDeps & { memory?: MemoryDeps | undefined },
): Promise<Reply> {
  let example: unknown;
  try {
    example = body ? Reflect.get(JSON.parse(body) as object, 'example') : undefined;
  } catch {
    example = undefined;
  }
  if (typeof example !== 'boolean')
    return {
      status: 400,
      body: {
        error: 'ValidationError',
        field: '/example',
        message: 'the body must be {"example": true|false}',
      },
    };
  const found = await locate(runId, deps);
  if ('reply' in found) return found.reply as Reply;
  const changed = await found.episodes.setExample(found.workflow, found.tenant, runId as string, example);
  if (!changed)
    return { status: 404, body: { error: 'NotFoundError', message: `run ${runId} has no episode` } };
  return { status: 200, body: { runId: runId as string, example } };
}
