/**
 * A team that has never seen this repository: `npm pack`'s tarball installed
 * into a fresh directory outside it, with aws-cdk-lib, constructs and tsx; a
 * small workflow of its own (a read tool, a write tool behind an approval, Claude on Bedrock);
 * its CDK app synthesised offline, bundled; then `npx chaperone dev` runs it
 * to SUCCEEDED through the emailed approval link. No file of the repository
 * is edited for it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../infra/repo-root.js';

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'chaperone-your-own-app-'));
const project = join(work, 'acme-agents');
let dev: ChildProcess | undefined;

afterAll(async () => {
  if (dev?.pid && dev.exitCode === null) {
    // npx and the server it started: the whole process group, as Ctrl-C would.
    const exited = new Promise((resolve) => dev?.once('exit', resolve));
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-(dev?.pid ?? 0), name);
      } catch {
        // The group has ended already.
      }
    };
    signal('SIGINT');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    if (dev.exitCode === null) signal('SIGKILL');
  }
  rmSync(work, { recursive: true, force: true });
});

/** The environment of a machine with no AWS account: no credentials, no profile, no instance metadata. */
function offlineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (
      !k.startsWith('AWS_') &&
      !k.startsWith('CDK_') &&
      !k.startsWith('ANTHROPIC_') &&
      !k.startsWith('npm_')
    )
      env[k] = v;
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...extra,
  };
}

const versionOf = (name: string): string =>
  (
    JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

const FILES: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'acme-agents', private: true, type: 'module' }, null, 2),
  'cdk.json': JSON.stringify({ app: 'npx tsx app.ts' }, null, 2),
  'workflows.ts': `import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { agent, defineAgent, defineTool, defineWorkflow } from 'chaperone';

const lookupFriend = defineTool({
  name: 'lookup_friend',
  description: 'Look a friend up by name.',
  input: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false } as const,
  access: 'read',
  run: async ({ name }) => ({ name, likes: 'tea' }),
});

const sendGreeting = defineTool({
  name: 'send_greeting',
  description: 'Send a greeting card. Needs approval.',
  input: {
    type: 'object',
    properties: { name: { type: 'string' }, text: { type: 'string' } },
    required: ['name', 'text'],
    additionalProperties: false,
  } as const,
  access: 'write',
  idempotent: true,
  run: async ({ name, text }, { idempotencyKey }) => {
    appendFileSync(join(process.cwd(), 'greetings.log'), JSON.stringify({ name, text, idempotencyKey }) + '\\n');
    return { sent: true };
  },
});

// Claude on Amazon Bedrock: a team that may use models only through Bedrock.
const greeter = defineAgent({
  name: 'greeter',
  provider: { kind: 'bedrock', modelId: 'us.anthropic.claude-haiku-4-5-20251001-v1:0' },
  system: 'You greet friends.',
  tools: [lookupFriend, sendGreeting],
});

export const greet = defineWorkflow({
  name: 'greet',
  description: 'Greet a friend.',
  input: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false } as const,
  steps: [agent('greet', { agent: greeter, prompt: ({ input }) => \`Greet \${(input as { name: string }).name}.\` })],
  approvals: { approvers: ['boss@acme.test'], timeoutSeconds: 600, onTimeout: 'reject' },
});

export const workflows = [greet];
`,
  'app.ts': `import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Chaperone } from 'chaperone/cdk';
import { workflows } from './workflows.js';

const app = new App();
const stack = new Stack(app, 'Mine');
new Chaperone(stack, 'Agents', {
  workflows,
  workflowsModule: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
});
app.synth();
`,
  'scenario.ts': `import { scenario, text, toolUse } from 'chaperone/testing';

export default scenario('greet Ada', [
  toolUse('lookup_friend', { name: 'Ada' }),
  toolUse('send_greeting', { name: 'Ada', text: 'Hello Ada, tea?' }, { text: 'Sending the card.' }),
  text('Greeted Ada with a card.'),
]);
`,
};

describe('your agents in your own CDK app', () => {
  it('installs from the packed tarball, synthesises offline, and runs with npx chaperone dev through an emailed approval', async () => {
    // Arrange: the package as npm would publish it, installed where nothing of the repository is.
    const packed = await run('npm', ['pack', '--silent', '--pack-destination', work], {
      cwd: REPO_ROOT,
      env: offlineEnv(),
      maxBuffer: 64 * 1024 * 1024,
    });
    const tarball = join(work, packed.stdout.trim().split('\n').at(-1) ?? '');
    expect(existsSync(tarball), tarball).toBe(true);
    rmSync(project, { recursive: true, force: true });
    await run('mkdir', ['-p', project]);
    for (const [file, text] of Object.entries(FILES)) writeFileSync(join(project, file), text);
    await run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        tarball,
        `aws-cdk-lib@${versionOf('aws-cdk-lib')}`,
        `constructs@${versionOf('constructs')}`,
        `tsx@${versionOf('tsx')}`,
      ],
      { cwd: project, env: offlineEnv(), maxBuffer: 64 * 1024 * 1024 },
    );

    // Act 1: synthesise the app, bundled, as `cdk synth` runs it.
    const outdir = join(work, 'cdk.out');
    await run('npx', ['tsx', 'app.ts'], {
      cwd: project,
      env: offlineEnv({ CDK_OUTDIR: outdir }),
      maxBuffer: 64 * 1024 * 1024,
    });

    // Assert 1: Chaperone's five functions, this workflow's tool step and one function per tool,
    // each bundled with this app's workflows and nothing of the example's.
    const template = JSON.parse(readFileSync(join(outdir, 'Mine.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
    const functions = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function' && JSON.stringify(r.Properties?.Code).includes('S3Key'),
    );
    const machines = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::StepFunctions::StateMachine',
    );
    expect(functions).toHaveLength(8);
    expect(machines).toHaveLength(1);
    const bundles = readdirSync(outdir)
      .filter((d) => d.startsWith('asset.'))
      .map((d) => join(outdir, d, 'index.mjs'))
      .filter((f) => existsSync(f))
      .map((f) => readFileSync(f, 'utf8'));
    // The two tool functions run the same entry: one asset serves both.
    expect(bundles).toHaveLength(7);
    // The agent step may invoke exactly that inference profile and the models it routes to.
    const bedrock = JSON.stringify(template.Resources).match(/bedrock:InvokeModel[^\]]*/g) ?? [];
    expect(bedrock.length).toBeGreaterThan(0);
    expect(JSON.stringify(template.Resources)).toContain(
      'inference-profile/us.anthropic.claude-haiku-4-5-20251001-v1:0',
    );
    for (const code of bundles) {
      expect(code).toContain('send_greeting');
      expect(code).not.toContain('invoice-reconciliation');
    }

    // Act 2: the embedded runtime on the project, then a run through its API.
    dev = spawn('npx', ['chaperone', 'dev', '--scenario', 'scenario.ts', '--port', '0'], {
      cwd: project,
      env: offlineEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    dev.stdout?.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    dev.stderr?.on('data', (c: Buffer) => {
      output += c.toString('utf8');
    });
    const apiUrl = await waitFor(
      () => /API (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1],
      'the API URL',
      () => output,
    );
    const posted = await fetch(`${apiUrl}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ workflow: 'greet', input: { name: 'Ada' } }),
    });
    expect(posted.status).toBe(201);
    const { runId } = (await posted.json()) as { runId: string };
    const outbox = join(project, '.chaperone', 'outbox');
    const email = await waitFor(
      () => {
        if (!existsSync(outbox)) return undefined;
        const file = readdirSync(outbox).find((f) => f.endsWith('.eml'));
        return file ? readFileSync(join(outbox, file), 'utf8') : undefined;
      },
      'the approval email',
      () => output,
    );
    const link = /https?:\/\/\S+\/approvals\/\S+/.exec(email)?.[0]?.replace(/=\r?\n/g, '') ?? '';
    const page = await (await fetch(link)).text();
    const digest = /name="digest" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const decided = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ decision: 'approve', digest }),
    });
    expect(decided.status, await decided.clone().text()).toBe(200);
    const finished = await waitFor(
      async () => {
        const view = (await (await fetch(`${apiUrl}/runs/${runId}`)).json()) as {
          status: string;
          answer?: string;
        };
        return view.status === 'RUNNING' ? undefined : view;
      },
      'the run to end',
      () => output,
    );

    // Assert 2: the run succeeded with the scripted answer; the card went out once.
    expect(finished).toMatchObject({ status: 'SUCCEEDED', answer: 'Greeted Ada with a card.' });
    const cards = readFileSync(join(project, 'greetings.log'), 'utf8').trim().split('\n');
    expect(cards).toHaveLength(1);
    expect(JSON.parse(cards[0] ?? '{}')).toMatchObject({ name: 'Ada', text: 'Hello Ada, tea?' });
  }, 600_000);
});

/** Poll `probe` until it yields a value, for up to two minutes. */
async function waitFor<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  what: string,
  log: () => string,
): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; output so far:\n${log().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
