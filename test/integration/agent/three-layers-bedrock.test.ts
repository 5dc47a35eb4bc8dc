import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredTrailEvent } from '../../../lambdas/core/run-records.js';
import {
  hang,
  scenario,
  status,
  text,
  toolUse,
  withFaults,
  withUsage,
} from '../../../local/scripted-model/index.js';
import { AgentHarness } from '../../support/agent-harness.js';
import { BEDROCK_TEST_MODEL, bedrockFixtures } from './fixtures.js';
import { threeLayerSuite } from './three-layers.suite.js';

// The same agents on Amazon Bedrock (`provider: { kind: 'bedrock', modelId }`), through the real
// Bedrock SDK (InvokeModel, SigV4-signed and verified) against the scripted model.
threeLayerSuite(bedrockFixtures, 'bedrock');

const modelCalls = (trail: StoredTrailEvent[]) =>
  trail.filter((e): e is Extract<StoredTrailEvent, { type: 'model_call' }> => e.type === 'model_call');

describe('Bedrock model faults through the state machine', () => {
  let h: AgentHarness;

  beforeAll(async () => {
    // No SDK retries and a 300 ms attempt timeout: the state machine's Retry owns the retry,
    // and its FULL-jitter delay is drawn as 0 so no test waits for real.
    h = await AgentHarness.start(
      [bedrockFixtures.testWorkflow],
      { CHAPERONE_MODEL_TIMEOUT_MS: '300' },
      { retryJitter: () => 0 },
    );
  });
  afterAll(async () => {
    await h.close();
  });

  it('retries a ThrottlingException as ModelThrottledError, records both attempts, and succeeds', async () => {
    h.model.use(
      scenario('throttled', [withFaults(toolUse('lookup', { id: 'A-1' }), status(429)), text('Found A-1.')]),
    );

    const { runId, execution } = await h.run('tool-tests', { task: 'find A-1' });

    expect(execution.status).toBe('SUCCEEDED');
    const calls = modelCalls(await h.runs.listEvents(runId));
    expect(calls.map((c) => c.status)).toEqual(['error', 'ok', 'ok']);
    expect(calls[0]?.error).toMatch(/^ModelThrottledError: Bedrock 429 ThrottlingException/);
    expect(calls[1]?.model).toBe(BEDROCK_TEST_MODEL);
    const mine = h.model.requests.filter((r) => r.conversation.startsWith(runId));
    expect(mine.map((r) => [r.api, r.body.model, r.turnIndex, r.attempt])).toEqual([
      ['bedrock', BEDROCK_TEST_MODEL, 0, 1],
      ['bedrock', BEDROCK_TEST_MODEL, 0, 2],
      ['bedrock', BEDROCK_TEST_MODEL, 1, 1],
    ]);
  });

  it('retries an answer slower than the client timeout as ModelUnavailableError, and succeeds', async () => {
    h.model.use(scenario('slow', [withFaults(text('late but fine'), hang(2_000))]));

    const { runId, execution } = await h.run('tool-tests', { task: 'be slow' });

    expect(execution.status).toBe('SUCCEEDED');
    const calls = modelCalls(await h.runs.listEvents(runId));
    expect(calls.map((c) => c.status)).toEqual(['error', 'ok']);
    expect(calls[0]?.error).toMatch(/^ModelUnavailableError: Bedrock call timed out after 300 ms/);
    expect((await h.runs.getRun(runId))?.answer).toBe('late but fine');
  });

  it('fails the run on a ValidationException without retrying it', async () => {
    h.model.use(
      scenario('refused', [withFaults(text('never'), status(400, { message: 'Input is too long' }))]),
    );

    const { runId, execution } = await h.run('tool-tests', { task: 'too long' });

    expect(execution.status).toBe('FAILED');
    const calls = modelCalls(await h.runs.listEvents(runId));
    expect(calls.map((c) => c.error)).toEqual([
      expect.stringMatching(/^ModelRequestError: Bedrock 400 ValidationException: Input is too long/),
    ]);
    expect(h.model.requests.filter((r) => r.conversation.startsWith(runId))).toHaveLength(1);
  });

  it('prices the call at the Bedrock rate of a geographic profile, in the trail and the ledger', async () => {
    h.model.use(scenario('priced', [withUsage(text('done'), { inputTokens: 10_000, outputTokens: 1_000 })]));

    const { runId, execution } = await h.run('tool-tests', { task: 'price me' });

    expect(execution.status).toBe('SUCCEEDED');
    // Haiku 4.5 through us.: $1.10 in, $5.50 out per million (the Anthropic API: $1 / $5).
    const [call] = modelCalls(await h.runs.listEvents(runId));
    expect(call?.costUsd).toBeCloseTo(0.0165, 10);
    expect((await h.runs.getLedger(runId))?.costUsedMicros).toBe(16_500);
  });
});
