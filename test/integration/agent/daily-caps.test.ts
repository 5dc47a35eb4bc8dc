import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responder, text } from '../../../local/scripted-model/index.js';
import { agent, defineWorkflow } from '../../../state-machines/index.js';
import { AgentHarness, proxyEvent } from '../../support/agent-harness.js';
import { tester } from './fixtures.js';

const CAP = 2_500;
const capped = defineWorkflow({
  name: 'capped',
  description: 'A per-tenant daily token cap.',
  input: {
    type: 'object',
    properties: { task: { type: 'string' } },
    required: ['task'],
    additionalProperties: false,
  } as const,
  steps: [agent('work', { agent: tester, prompt: ({ input }) => (input as { task: string }).task })],
  dailyCaps: { perTenant: { tokens: CAP } },
});

let h: AgentHarness;
beforeAll(async () => {
  h = await AgentHarness.start([capped]);
  h.model.use(responder('answer', () => text('done')));
});
afterAll(async () => {
  await h.close();
});

async function runFor(tenant: string) {
  const res = await h.api()(
    proxyEvent('POST', '/runs', {}, JSON.stringify({ workflow: 'capped', input: { task: 'go' }, tenant })),
  );
  expect(res.statusCode).toBe(201);
  const { runId } = JSON.parse(res.body) as { runId: string };
  const execution = await h.sfn.waitForExecution(
    `arn:aws:states:us-east-1:000000000000:execution:capped:${runId}`,
  );
  return { runId, execution };
}

describe('daily caps', () => {
  it("stops a tenant's runs at its daily cap, never past it, and leaves other tenants alone", async () => {
    let used = 0;
    let refused: Awaited<ReturnType<typeof runFor>> | undefined;
    for (let i = 0; i < 20 && !refused; i++) {
      const r = await runFor('acme');
      if (r.execution.status === 'SUCCEEDED') used += (await h.runs.getLedger(r.runId))?.tokensUsed ?? 0;
      else refused = r;
    }

    expect(refused?.execution.error).toBe('BudgetExceeded');
    expect((await h.runs.getRun(refused?.runId ?? ''))?.stopDetail).toMatch(
      /daily token cap of tenant acme on \d{4}-\d{2}-\d{2}/,
    );
    expect(used).toBeLessThanOrEqual(CAP);
    expect(used).toBeGreaterThan(0);
    const other = await runFor('globex');
    expect(other.execution.status).toBe('SUCCEEDED');
  });

  it('rejects a malformed tenant with the field named, creating nothing', async () => {
    const res = await h.api()(
      proxyEvent(
        'POST',
        '/runs',
        {},
        JSON.stringify({ workflow: 'capped', input: { task: 'go' }, tenant: 'no spaces!' }),
      ),
    );
    expect(res.statusCode).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ field: '/tenant' });
  });
});
