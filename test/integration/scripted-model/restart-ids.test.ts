import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type LoggedRequest,
  ScriptedModel,
  scenario,
  text,
  toolUse,
} from '../../../local/scripted-model/index.js';

const script = scenario('pay', [toolUse('lookup_invoice', { invoice_id: 'INV-000101' }), text('Done.')]);
const servers: ScriptedModel[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function serve(opts: Parameters<typeof ScriptedModel.start>[0] = {}) {
  const model = await ScriptedModel.start(opts);
  servers.push(model);
  model.use(script);
  const sdk = new Anthropic({ apiKey: 'k', baseURL: model.url, maxRetries: 0, timeout: 2_000 });
  const ask = async (runId: string) => {
    const reply = await sdk.messages.create({
      model: 'claude-scripted-test',
      max_tokens: 100,
      metadata: { user_id: runId },
      messages: [{ role: 'user', content: `Reconcile INV-000101 (${runId}).` }],
    });
    return reply.content.flatMap((b) => (b.type === 'tool_use' ? [b.id] : []));
  };
  return { model, ask };
}

describe('scripted model ids across restarts', () => {
  it('never hands out a tool_use id a previous server (process) gave, for the same script', async () => {
    const before = await serve();
    const first = await before.ask('run-1');
    await before.model.close();
    servers.length = 0;

    const after = await serve();
    const second = await after.ask('run-1');

    expect(first).toHaveLength(1);
    expect(second).toHaveLength(1);
    expect(second[0]).not.toBe(first[0]);
    expect(first[0]).toMatch(/^toolu_scripted_[a-z0-9]+_000001$/);
    expect(second[0]).toMatch(/^toolu_scripted_[a-z0-9]+_000001$/);
  });

  it('numbers ids in order within one server, and is deterministic when the instance tag is given', async () => {
    const a = await serve({ idInstance: 'fixed' });
    const ids = [...(await a.ask('run-1')), ...(await a.ask('run-2'))];
    const b = await serve({ idInstance: 'fixed' });

    expect(ids).toEqual(['toolu_scripted_fixed_000001', 'toolu_scripted_fixed_000002']);
    expect(await b.ask('run-1')).toEqual(['toolu_scripted_fixed_000001']);
  });

  it('appends every request to the request log, across servers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scripted-log-'));
    dirs.push(dir);
    const requestLog = join(dir, 'requests.jsonl');
    const a = await serve({ requestLog });
    await a.ask('run-1');
    const b = await serve({ requestLog });
    await b.ask('run-1');

    const lines = readFileSync(requestLog, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as LoggedRequest);

    expect(lines.map((l) => [l.conversation, l.turnIndex, l.attempt, l.instance])).toEqual([
      ['run-1', 0, 1, a.model.idInstance],
      ['run-1', 0, 1, b.model.idInstance],
    ]);
    expect(lines[0]?.messages).toEqual([{ role: 'user', content: 'Reconcile INV-000101 (run-1).' }]);
  });
});
