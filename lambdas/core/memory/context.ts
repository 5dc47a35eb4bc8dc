import type { AgentStep } from '../../../state-machines/steps.js';
import type { Workflow } from '../../../state-machines/workflow.js';
import type { Log } from '../deps.js';
import { ChaperoneError } from '../errors.js';
import { screenRecalledRun, screenRetrieval } from '../guardrails/tool-output.js';
import type { Json } from '../model.js';
import type { KeyedEvent, RunFacts, RunStatus, RunStore, TrailEvent } from '../run-records.js';
import { episodesBlock, recallEpisodes, recallEvent, recordEpisode } from './episodes.js';
import type { Embedder, EpisodeStore, VectorIndex } from './ports.js';
import { knowledgeBlock, retrievalEvent, retrieveKnowledge } from './retrieval.js';

/** The memory parts a function may have (absent when no workflow of the app uses memory). */
export interface MemoryDeps {
  embedder: Embedder;
  /** Knowledge indexes; absent when no agent has a knowledge source. */
  index?: VectorIndex;
  /** Episodes; absent when no workflow declares episodic memory. */
  episodes?: EpisodeStore;
}

/** Trail event ids of memory, deterministic per step (written once). */
export const memoryEventIds = {
  semantic: (step: string) => `memory#semantic#${step}`,
  episodic: (step: string) => `memory#episodic#${step}`,
  recorded: () => 'memory#recorded',
} as const;

/**
 * What memory adds to an agent step's task: the knowledge chunks that pass
 * the agent's threshold and the past runs of this workflow and tenant that
 * pass the workflow's, each as a block marked off as data, with the trail
 * events that say what was retrieved, kept and dropped. The task text itself
 * is the query. Nothing is added (and nothing read) for an agent without a
 * knowledge source in a workflow without episodic memory.
 */
export async function memoryContext(
  args: { meta: RunFacts; workflow: Workflow; step: AgentStep; task: string },
  deps: MemoryDeps | undefined,
): Promise<{ text: string; events: KeyedEvent[] }> {
  const { meta, workflow, step, task } = args;
  const blocks: string[] = [];
  const events: KeyedEvent[] = [];
  const knowledge = step.agent.knowledge;
  if (knowledge && deps?.index) {
    const r = await retrieveKnowledge(task, knowledge, { embedder: deps.embedder, index: deps.index });
    // Retrieved text is untrusted like a tool result: screened and spotlighted before the model reads it.
    const screened = screenRetrieval(r, {
      runId: meta.runId,
      step: step.id,
      mode: step.agent.untrustedResults,
    });
    const block = knowledgeBlock(screened.retrieval);
    if (block) blocks.push(block);
    events.push({
      id: memoryEventIds.semantic(step.id),
      event: retrievalEvent(step.id, r) as unknown as TrailEvent,
    });
    events.push(...screened.events);
  }
  if (workflow.memory && deps?.episodes) {
    const r = await recallEpisodes(meta, workflow, { embedder: deps.embedder, episodes: deps.episodes });
    if (r) {
      // A past run's input, tool calls and answer are untrusted like a tool result: screened too.
      const flagged: KeyedEvent[] = [];
      const block = episodesBlock(r, (episode, text) => {
        const screened = screenRecalledRun({
          runId: meta.runId,
          step: step.id,
          pastRun: episode.runId,
          content: text,
          mode: step.agent.untrustedResults,
        });
        flagged.push(...screened.events);
        return screened.content;
      });
      if (block) blocks.push(block);
      events.push({
        id: memoryEventIds.episodic(step.id),
        event: recallEvent(step.id, r) as unknown as TrailEvent,
      });
      events.push(...flagged);
    }
  }
  return { text: blocks.join('\n\n'), events };
}

/** The task with memory's blocks after it: the task comes first and is never cut. */
export function withMemory(task: string, memory: string): string {
  return memory ? `${task}\n\n${memory}` : task;
}

/**
 * At a run's finish: record its episode when its workflow keeps episodic
 * memory. Idempotent (the store writes an episode once), so a finish retried
 * after a crash records it then.
 */
export async function rememberRun(
  args: { runId: string; status: RunStatus; workflow: Workflow | undefined; now: string; store: RunStore },
  deps: MemoryDeps | undefined,
  log: Log,
): Promise<void> {
  const { workflow, store, runId } = args;
  const episodes = deps?.episodes;
  if (!workflow?.memory || !deps || !episodes) return;
  const [meta, ledger, events] = await Promise.all([
    store.getRun(runId),
    store.getLedger(runId),
    store.listEvents(runId),
  ]);
  if (!meta) return;
  let event: Json;
  try {
    const episode = await recordEpisode(
      { meta, status: args.status, memory: workflow.memory, ledger, events, now: args.now },
      { embedder: deps.embedder, episodes },
    );
    event = {
      type: 'memory_recorded',
      memory: 'episodic',
      example: episode.example,
      decisions: episode.decisions.length,
    };
  } catch (err) {
    // The run's outcome stands whatever memory does: a failed record is said in the trail, not raised.
    if (!(err instanceof ChaperoneError)) throw err;
    log.warn('episode not recorded', { runId, error: `${err.name}: ${err.message}` });
    event = {
      type: 'memory_recorded',
      memory: 'episodic',
      example: false,
      decisions: 0,
      error: `${err.name}: ${err.message}`,
    };
  }
  await store.appendEvent(runId, memoryEventIds.recorded(), event as unknown as TrailEvent);
}
