import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { approveViaLink } from '../../../../local/cli/approve.js';
import { demoScenario } from '../../../../local/cli/demo-scenario.js';
import type { RunView } from '../../../../local/cli/print.js';
import { main } from '../../../../local/cli/start.js';
import { type LocalStack, startLocalStack } from '../../../../local/runtime/stack.js';

// INV-000102: the invoice whose 400 lines the tool result trims (the backend lives in each data dir's table).
const INPUT = { workflow: 'invoice-reconciliation', input: { invoiceId: 'INV-000102' } };

async function poll(stack: LocalStack, runId: string, until: (run: RunView) => boolean): Promise<RunView> {
  for (let i = 0; i < 400; i++) {
    const run = (await (await fetch(`${stack.apiUrl}/runs/${runId}`)).json()) as RunView;
    if (until(run)) return run;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`run ${runId} never got there`);
}

async function approvalLink(outboxDir: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const file = readdirSync(outboxDir).find((f) => f.endsWith('.json'));
    const email = file
      ? (JSON.parse(readFileSync(join(outboxDir, file), 'utf8')) as { links: string[] })
      : undefined;
    const link = email?.links.find((l) => l.includes('/approvals/'));
    if (link) return link;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no approval link in the outbox');
}

describe('local stack end to end (synthesised template, real handlers, scripted model)', () => {
  const dirs: string[] = [];
  const stacks: LocalStack[] = [];
  const warnings: string[] = [];
  beforeEach(() => {
    // The Anthropic SDK warns about the example's deprecated model id on console.warn; keep it, don't fail on it.
    vi.spyOn(console, 'warn').mockImplementation(
      (...args: unknown[]) => void warnings.push(args.map(String).join(' ')),
    );
  });
  afterEach(async () => {
    for (const s of stacks.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    expect(warnings.filter((w) => !w.includes('deprecated') && !w.includes('migrate'))).toEqual([]);
    warnings.length = 0;
  });
  const tempDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'chaperone-e2e-'));
    dirs.push(dir);
    return dir;
  };

  it('npm start --auto-approve: POST /runs, follows the trail, approves by email link, prints the answer', async () => {
    const lines: string[] = [];

    const code = await main(['--data-dir', tempDir(), '--auto-approve'], (l) => lines.push(l), {});

    const out = lines.join('\n');
    expect(code).toBe(0);
    expect(out).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/runs → 201/);
    expect(out).toContain('✓ tool lookup_invoice');
    expect(out).toContain('⏸ approval requested for schedule_payment');
    expect(out).toContain('✅ approval approved by ap-approver@example.com');
    expect(out).toMatch(/Run \w+: SUCCEEDED/);
    expect(out).toMatch(/Payment PAY-\d+ is scheduled for 2026-12-15/);
  });

  it('survives a restart while an approval is pending: the emailed link still works and the run finishes', async () => {
    const dataDir = tempDir();
    const first = await startLocalStack({ dataDir, model: 'scripted', scenario: demoScenario, env: {} });
    stacks.push(first);
    const started = await fetch(`${first.apiUrl}/runs`, {
      method: 'POST',
      body: JSON.stringify(INPUT),
      headers: { 'content-type': 'application/json' },
    });
    const { runId } = (await started.json()) as { runId: string };
    const waiting = await poll(
      first,
      runId,
      (r) => r.status !== 'RUNNING' || (r.trail ?? []).some((e) => e.type === 'approval_requested'),
    );
    const link = await approvalLink(first.outboxDir);
    await stacks.pop()?.close();

    const second = await startLocalStack({ dataDir, model: 'scripted', scenario: demoScenario, env: {} });
    stacks.push(second);
    const approved = await approveViaLink(link);
    const run = await poll(second, runId, (r) => r.status !== 'RUNNING');

    expect(started.status).toBe(201);
    expect(waiting.status).toBe('RUNNING');
    expect(second.apiUrl).toBe(first.apiUrl);
    expect(approved).toMatchObject({ ok: true });
    expect(run.status).toBe('SUCCEEDED');
    expect(run.answer).toMatch(/Payment PAY-\d+ is scheduled for 2026-12-01/);
    expect(run.steps?.used).toBe(4);
    expect(second.scriptedModel?.exhausted()).toEqual([]);
  });
});
