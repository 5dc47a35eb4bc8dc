import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StoredTrailEvent } from '../../../lambdas/core/run-records.js';
import type { RecordedRequest } from '../../../local/scripted-model/index.js';
import { scenario, text, toolUse } from '../../../local/scripted-model/index.js';
import { AgentHarness } from '../../support/agent-harness.js';
import { switches, type toolTestFixtures } from './fixtures.js';

/**
 * The three layers of defence (unknown tools, schema validation, retries,
 * timeouts and fallback), loops and limits, end to end through the real SDK of
 * the agents' provider against the scripted model. `three-layers.test.ts` runs
 * it on the Anthropic API, `three-layers-bedrock.test.ts` on Amazon Bedrock.
 */
export function threeLayerSuite(
  fixtures: ReturnType<typeof toolTestFixtures>,
  api: NonNullable<RecordedRequest['api']>,
): void {
  const { policyWorkflow, testWorkflow, tightBudgetWorkflow, timeLimitedWorkflow } = fixtures;
  let h: AgentHarness;

  beforeAll(async () => {
    h = await AgentHarness.start([testWorkflow, policyWorkflow, tightBudgetWorkflow, timeLimitedWorkflow]);
  });
  afterAll(async () => {
    await h.close();
  });
  beforeEach(() => {
    Object.assign(switches, { flakyFailures: 0, flakyCalls: 0, backupCalls: 0, voided: 0 });
  });
  afterEach(() => {
    // Every model call of the test went out on this provider's wire API.
    expect(h.model.requests.map((r) => r.api)).toEqual(h.model.requests.map(() => api));
  });

  const ofType = <T extends StoredTrailEvent['type']>(trail: StoredTrailEvent[], type: T) =>
    trail.filter((e): e is Extract<StoredTrailEvent, { type: T }> => e.type === type);

  /** The tool_result blocks the model received on a given turn of the last run. */
  function toolResultsSent(turn: number) {
    const req = h.model.requests.find((r) => r.turnIndex === turn);
    const last = req?.body.messages.at(-1);
    if (!last || typeof last.content === 'string') return [];
    return last.content.filter((b) => b.type === 'tool_result') as unknown as Array<{
      content: unknown;
      is_error?: boolean;
    }>;
  }

  describe('layer 1: unknown tools', () => {
    it('answers an invented tool with the list of tools, and the corrected call succeeds', async () => {
      h.model.use(
        scenario('invented', [
          toolUse('lookup_record', { id: 'A-1' }),
          toolUse('lookup', { id: 'A-1' }),
          text('Found record A-1.'),
        ]),
      );

      const { runId, execution } = await h.run('tool-tests', { task: 'find A-1' });

      expect(execution.status).toBe('SUCCEEDED');
      const [rejection] = toolResultsSent(1);
      expect(rejection?.is_error).toBe(true);
      expect(String(rejection?.content)).toContain('there is no tool named "lookup_record"');
      expect(String(rejection?.content)).toContain(
        'Available tools: lookup, flaky, hang, broken, backup, big',
      );
      const trail = await h.runs.listEvents(runId);
      expect(ofType(trail, 'tool_rejected').map((e) => [e.tool, e.rule])).toEqual([
        ['lookup_record', 'unknown_tool'],
      ]);
      expect(ofType(trail, 'tool_call').map((e) => [e.tool, e.status])).toEqual([['lookup', 'ok']]);
      expect((await h.runs.getRun(runId))?.answer).toBe('Found record A-1.');
    });
  });

  describe('layer 2: schema validation', () => {
    it('answers invalid arguments with the ajv message, and the corrected call succeeds', async () => {
      h.model.use(
        scenario('invalid', [
          toolUse('lookup', { id: 42, extra: true }),
          toolUse('lookup', { id: 'B-7' }),
          text('ok'),
        ]),
      );

      const { runId, execution } = await h.run('tool-tests', { task: 'find B-7' });

      expect(execution.status).toBe('SUCCEEDED');
      const [rejection] = toolResultsSent(1);
      expect(rejection?.is_error).toBe(true);
      expect(String(rejection?.content)).toMatch(/unknown property "extra" is not allowed/);
      expect(String(rejection?.content)).toMatch(/\/id: must be string/);
      const trail = await h.runs.listEvents(runId);
      expect(ofType(trail, 'tool_rejected').map((e) => e.rule)).toEqual(['invalid_arguments']);
      expect(ofType(trail, 'tool_call')[0]?.args).toEqual({ id: 'B-7' });
    });
  });

  describe('layer 3: retries, timeouts, fallback', () => {
    it('retries a tool that answers 429 twice, with backoff, and succeeds', async () => {
      switches.flakyFailures = 2;
      h.model.use(scenario('flaky', [toolUse('flaky', { id: 'C-1' }), text('done')]));

      const { runId, execution } = await h.run('tool-tests', { task: 'call flaky' });

      expect(execution.status).toBe('SUCCEEDED');
      const [call] = ofType(await h.runs.listEvents(runId), 'tool_call');
      expect(call?.status).toBe('ok');
      expect(call?.attempts.map((a) => a.status)).toEqual(['error', 'error', 'ok']);
      expect(call?.attempts[0]?.error).toContain('429');
      expect(switches.flakyCalls).toBe(3);
      const [result] = toolResultsSent(1);
      expect(result?.is_error).toBeUndefined();
    });

    it('cuts a hung tool off at its timeout and tells the model', async () => {
      h.model.use(scenario('hang', [toolUse('hang', { id: 'D-1' }), text('the integration is down')]));

      const { runId, execution } = await h.run('tool-tests', { task: 'call hang' });

      expect(execution.status).toBe('SUCCEEDED');
      const [call] = ofType(await h.runs.listEvents(runId), 'tool_call');
      expect(call?.status).toBe('error');
      expect(call?.attempts.map((a) => a.status)).toEqual(['timeout', 'timeout']);
      for (const a of call?.attempts ?? []) expect(a.durationMs).toBeLessThan(2000);
      const [result] = toolResultsSent(1);
      expect(result?.is_error).toBe(true);
      expect(String(result?.content)).toContain('did not answer within its 0.3 s timeout');
    });

    it('runs the fallback when a tool fails every attempt', async () => {
      h.model.use(scenario('fallback', [toolUse('broken', { id: 'E-1' }), text('used the backup')]));

      const { runId, execution } = await h.run('tool-tests', { task: 'call broken' });

      expect(execution.status).toBe('SUCCEEDED');
      const [call] = ofType(await h.runs.listEvents(runId), 'tool_call');
      expect(call?.status).toBe('fallback');
      expect(call?.fallbackTool).toBe('backup');
      expect(call?.attempts.map((a) => a.status)).toEqual(['error', 'error', 'error', 'ok']);
      expect(switches.backupCalls).toBe(1);
      expect(String(toolResultsSent(1)[0]?.content)).toContain('"source":"backup"');
    });

    it('trims an oversized result and records its original size', async () => {
      h.model.use(scenario('big', [toolUse('big', { id: 'F-1' }), text('summarised')]));

      const { runId } = await h.run('tool-tests', { task: 'call big' });

      const [call] = ofType(await h.runs.listEvents(runId), 'tool_call');
      expect(call?.trimmed).toBe(true);
      expect(call?.originalBytes).toBeGreaterThan(50_000);
      expect(call?.resultBytes).toBeLessThanOrEqual(1024);
      expect(String(toolResultsSent(1)[0]?.content)).toContain('[trimmed: the result was');
    });
  });

  describe('loops and limits', () => {
    it('stops a repeated identical call with LoopDetected', async () => {
      const same = toolUse('lookup', { id: 'G-1' });
      h.model.use(scenario('loop', [same, same, same, text('never reached')]));

      const { runId, execution } = await h.run('tool-tests', { task: 'loop' });

      expect(execution.status).toBe('FAILED');
      expect(execution.error).toBe('LoopDetected');
      const run = await h.runs.getRun(runId);
      expect(run?.status).toBe('STOPPED');
      expect(run?.stopReason).toBe('LoopDetected');
      const trail = await h.runs.listEvents(runId);
      expect(ofType(trail, 'tool_call')).toHaveLength(2);
      expect(ofType(trail, 'tool_rejected').map((e) => e.rule)).toEqual(['loop']);
      expect(ofType(trail, 'run_finished')[0]?.reason).toBe('LoopDetected');
    });

    it('stops at exactly the step limit when the model always wants another tool', async () => {
      h.model.use(
        scenario(
          'endless',
          Array.from({ length: 10 }, (_, i) => toolUse('lookup', { id: `H-${i}` })),
        ),
      );

      const { runId, execution } = await h.run('tool-tests', { task: 'never stop' });

      expect(execution.error).toBe('StepLimitExceeded');
      expect(h.model.requests.filter((r) => r.conversation.startsWith(runId))).toHaveLength(6);
      const ledger = await h.runs.getLedger(runId);
      expect(ledger?.stepsUsed).toBe(6);
      expect((await h.runs.getRun(runId))?.stopDetail).toContain('6 of 6');
    });

    it('stops with BudgetExceeded before the call that would pass the token budget', async () => {
      h.model.use(
        scenario(
          'hungry',
          Array.from({ length: 10 }, (_, i) => toolUse('big', { id: `J-${i}` })),
        ),
      );

      const { runId, execution } = await h.run('tight-budget', { task: 'spend' });

      expect(execution.error).toBe('BudgetExceeded');
      const ledger = await h.runs.getLedger(runId);
      expect(ledger?.tokensUsed).toBeLessThanOrEqual(5_000);
      const trail = await h.runs.listEvents(runId);
      const refused = ofType(trail, 'budget_refused');
      expect(refused).toHaveLength(1);
      expect(refused[0]?.limit).toBe('tokens');
      const calls = ofType(trail, 'model_call');
      expect(calls.length).toBe(h.model.requests.filter((r) => r.conversation.startsWith(runId)).length);
    });
  });

  describe('time limit', () => {
    it('stops with TimeLimitExceeded at the first step after the wall-clock limit', async () => {
      h.model.use(
        scenario('slow', [
          toolUse('slow', { id: 'L-1' }),
          toolUse('slow', { id: 'L-2' }),
          text('never reached'),
        ]),
      );

      const { runId, execution } = await h.run('time-limited', { task: 'take your time' });

      expect(execution.error).toBe('TimeLimitExceeded');
      expect(h.model.requests.filter((r) => r.conversation.startsWith(runId))).toHaveLength(1);
      const run = await h.runs.getRun(runId);
      expect(run?.stopReason).toBe('TimeLimitExceeded');
      expect(run?.stopDetail).toContain('time limit of 2 s');
    });
  });

  describe('policy', () => {
    it("blocks a read-only agent's destructive call, records it and pages someone", async () => {
      const alerts: string[] = [];
      h.services.events.on('alert', (a) => alerts.push(JSON.stringify(a)));
      h.model.use(scenario('rogue', [toolUse('void_record', { id: 'K-1' }), text('never reached')]));

      const { runId, execution } = await h.run('policy-tests', { task: 'clean up' });

      expect(execution.error).toBe('PolicyViolation');
      expect(switches.voided).toBe(0);
      const trail = await h.runs.listEvents(runId);
      expect(ofType(trail, 'tool_rejected').map((e) => [e.tool, e.rule])).toEqual([
        ['void_record', 'policy'],
      ]);
      expect(ofType(trail, 'guardrail')[0]?.rule).toBe('policy_access_class');
      expect(alerts).toHaveLength(1);
      expect(alerts[0]).toContain(runId);
      expect(alerts[0]).toContain('void_record');
    });
  });
}
