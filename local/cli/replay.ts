/**
 * `chaperone replay <runId>`: a recorded run as a scenario module for the
 * scripted model. Run your changed workflows against it (`chaperone dev
 * --scenario <file>`) to see what the change does to a real run, with no
 * model calls: the model answers are the trail's, the tools run again.
 */
import type { StoredTrailEvent } from '../../lambdas/core/run-records.js';

/** The module text: the trail, and `scenarioFromTrail` from `chaperone/testing` over it. */
export function replayModuleSource(runId: string, trail: readonly StoredTrailEvent[]): string {
  const models = trail.filter((e) => e.type === 'model_call' && e.status === 'ok').length;
  return `// Replay of run ${runId} (${models} recorded model answers), written by chaperone replay.
import { scenarioFromTrail } from 'chaperone/testing';

const trail = ${JSON.stringify(trail, null, 2)};

export default scenarioFromTrail(trail, ${JSON.stringify(`replay of ${runId}`)});
`;
}
