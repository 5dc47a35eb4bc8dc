import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { unspotlight } from '../../../lambdas/core/guardrails/spotlight.js';
import { scenarioFromTrail } from '../../../local/replay/from-trail.js';
import { scenario, text, toolUse } from '../../../local/scripted-model/index.js';
import { AgentHarness } from '../../support/agent-harness.js';
import { testWorkflow } from './fixtures.js';

let h: AgentHarness;
beforeAll(async () => {
  h = await AgentHarness.start([testWorkflow]);
});
afterAll(async () => {
  await h.close();
});

describe('replay from the trail', () => {
  it('replays a recorded run with no new model answers: same calls, same arguments, same answer', async () => {
    h.model.use(
      scenario('original', [
        toolUse('lookup', { id: 'R-1' }),
        toolUse('big', { id: 'R-2' }),
        text('R-1 and R-2 checked.'),
      ]),
    );
    const original = await h.run('tool-tests', { task: 'check R-1 and R-2' });
    const recorded = await h.runs.listEvents(original.runId);

    h.model.use(scenarioFromTrail(recorded));
    const replayed = await h.run('tool-tests', { task: 'check R-1 and R-2' });

    expect(replayed.execution.status).toBe('SUCCEEDED');
    expect(h.model.exhausted()).toEqual([]);
    // Each run spotlights its tool results with its own tag: compare the data inside.
    const calls = (trail: typeof recorded) =>
      trail.flatMap((e) =>
        e.type === 'tool_call' ? [[e.tool, JSON.stringify(e.args), unspotlight(e.result)]] : [],
      );
    expect(calls(await h.runs.listEvents(replayed.runId))).toEqual(calls(recorded));
    expect((await h.runs.getRun(replayed.runId))?.answer).toBe('R-1 and R-2 checked.');
    const used = async (runId: string) => (await h.runs.getLedger(runId))?.tokensUsed;
    expect(await used(replayed.runId)).toBe(await used(original.runId));
  });
});
