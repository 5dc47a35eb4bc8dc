import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');

/** The environment of a newcomer's shell: no API URL, no model key. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.CHAPERONE_API_URL;
  delete env.ANTHROPIC_API_KEY;
  delete env.VITEST;
  delete env.VITEST_WORKER_ID;
  delete env.VITEST_POOL_ID;
  return env;
}

/** A real `npm …` process: its output so far, and its exit. */
interface Spawned {
  child: ChildProcess;
  output(): string;
  exit: Promise<number | null>;
  /** Resolves when the output matches `pattern` (rejects after `ms`). */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
}

function npm(args: string[], stdin: string | 'closed' | 'open'): Spawned {
  const child = spawn('npm', ['--silent', ...args], {
    cwd: ROOT,
    env: cleanEnv(),
    stdio: [stdin === 'closed' ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    // Its own process group, so a Ctrl-C can reach npm and the node under it, as in a terminal.
    detached: true,
  });
  let out = '';
  const listeners: Array<() => void> = [];
  const onData = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  if (stdin !== 'closed' && stdin !== 'open') child.stdin?.end(stdin);
  const exit = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return {
    child,
    output: () => out,
    exit,
    waitFor(pattern, ms = 60_000) {
      return new Promise((done, fail) => {
        const check = (): void => {
          const m = pattern.exec(out);
          if (!m) return;
          clearTimeout(timer);
          listeners.splice(listeners.indexOf(check), 1);
          done(m);
        };
        const timer = setTimeout(() => fail(new Error(`no ${pattern} within ${ms} ms in:\n${out}`)), ms);
        listeners.push(check);
        check();
      });
    },
  };
}

const LINK = /(http:\/\/127\.0\.0\.1:\d+\/approvals\/\S+)/;

describe('npm start, as a newcomer runs it (real processes)', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const servers: Server[] = [];
  const dataDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'chaperone-npm-start-'));
    dirs.push(dir);
    return dir;
  };
  const run = (args: string[], stdin: string | 'closed' | 'open'): Spawned => {
    const s = npm(args, stdin);
    children.push(s.child);
    return s;
  };
  afterEach(async () => {
    for (const c of children.splice(0)) {
      try {
        if (c.pid) process.kill(-c.pid, 'SIGKILL');
      } catch {
        // the group has ended
      }
    }
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("printf 'a\\n' | npm start: the piped line approves, the run finishes, exit 0", async () => {
    const dir = dataDir();

    const start = run(['start', '--', '--data-dir', dir], 'a\n');
    const code = await start.exit;

    const out = start.output();
    expect(code, out).toBe(0);
    expect(out).toContain('⏸ approval requested for schedule_payment');
    expect(out).toContain(
      '✅ approval approved by ap-approver@example.com: approved at the npm start prompt',
    );
    expect(out).toMatch(/Run \w+: SUCCEEDED/);
    expect(out).toMatch(/Payment PAY-\d+ is scheduled for 2026-12-15/);
    expect(out).not.toMatch(/GET \/runs/);
  });

  it('with stdin closed it says how to decide and waits; the CLI finds the stack by itself and decides', async () => {
    const dir = dataDir();
    const start = run(['start', '--', '--data-dir', dir], 'closed');
    const [, link = ''] = await start.waitFor(LINK);
    await start.waitFor(/Waiting for the decision…/);
    const waiting = start.output();

    const cli = run(['run', 'chaperone', '--', 'approvals', 'approve', link, '--data-dir', dir], 'closed');
    const cliCode = await cli.exit;
    const code = await start.exit;

    expect(waiting).toContain('Standard input is closed, so nothing can be decided here.');
    expect(waiting).toContain(`npm run chaperone -- approvals approve '${link}'`);
    expect(waiting.split('Waiting for the decision…')[1]?.trim()).toBe('');
    expect(cliCode, cli.output()).toBe(0);
    expect(cli.output().trim().split('\n').at(-1)).toBe('approved');
    expect(code, start.output()).toBe(0);
    expect(start.output()).toMatch(/Run \w+: SUCCEEDED/);
  });

  it('saved port taken: says which and how to choose; with --port 0 the resumed demo decides at the new address, never the old one', async () => {
    const dir = dataDir();
    const first = run(['start', '--', '--data-dir', dir], 'closed');
    const [, link = ''] = await first.waitFor(LINK);
    await first.waitFor(/Waiting for the decision…/);
    process.kill(-(first.child.pid ?? 0), 'SIGINT'); // Ctrl-C
    await first.waitFor(/Interrupted\. The run goes on/);
    await first.exit;
    const oldPort = Number(new URL(link).port);
    const savedPorts = JSON.parse(readFileSync(join(dir, 'ports.json'), 'utf8')) as { api: number };
    // Another program now listens on the old port, and records whatever it is sent.
    const squatted: string[] = [];
    const squatter = createServer((req, res) => {
      squatted.push(`${req.method} ${req.url}`);
      res.writeHead(404).end();
    });
    servers.push(squatter);
    await new Promise<void>((r) => squatter.listen(oldPort, '127.0.0.1', r));

    const refused = run(['start', '--', '--data-dir', dir], 'closed');
    const refusedCode = await refused.exit;
    const resumed = run(['start', '--', '--data-dir', dir, '--port', '0'], 'a\n');
    const code = await resumed.exit;

    expect(savedPorts.api).toBe(oldPort);
    expect(refusedCode).toBe(1);
    expect(refused.output()).toContain(`port ${oldPort} is taken by another process`);
    expect(refused.output()).toContain('--port 0');
    expect(refused.output()).not.toContain("another 'npm start'");
    expect(code, resumed.output()).toBe(0);
    expect(resumed.output()).toContain('Following run');
    expect(resumed.output()).toContain(`the email's link names http://127.0.0.1:${oldPort}`);
    expect(resumed.output()).toMatch(/Run \w+: SUCCEEDED/);
    expect(squatter.listening).toBe(true);
    expect(squatted).toEqual([]);
    expect((squatter.address() as AddressInfo).port).toBe(oldPort);
  });
});
