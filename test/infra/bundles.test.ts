/**
 * What each function's bundle holds: the AWS SDK inside it (not left to the
 * runtime's copy), in its ES build, and of its clients exactly those of the
 * ports the handler uses, of which the cold start loads only the ones every
 * invocation needs; no ajv compiler at cold start (validators generated at
 * synth, reporting what ajv reports); credentials from the environment.
 * Built with the options the construct deploys with.
 */

import { execFile, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentFunction } from '../../infra/constructs/agent-function.js';
import {
  bundleSizes,
  HANDLER_ENTRY_FILE,
  HANDLER_KINDS,
  type HandlerKind,
  handlerBuildOptions,
  writeHandlerEntries,
} from '../../infra/constructs/handler-entries.js';
import { REPO_ROOT } from '../../infra/repo-root.js';

const work = mkdtempSync(join(tmpdir(), 'chaperone-bundles-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The SDK clients each handler's ports need, and nothing more. */
const CLIENTS: Record<HandlerKind, string[]> = {
  // Memory (episodes: forget, mark) reaches S3 Vectors and the Titan embeddings through Bedrock's runtime.
  api: ['client-bedrock-runtime', 'client-s3vectors', 'client-secrets-manager', 'client-sesv2', 'client-sns'],
  // Bedrock's runtime client: the Bedrock model SDK's (and ApplyGuardrail, the embeddings), on first use.
  'agent-step': ['client-bedrock-runtime', 'client-s3vectors', 'client-secrets-manager', 'client-sns'],
  'tool-step': ['client-sns'],
  'tool-runner': [],
  'code-step': [],
  // The episode it records (memory); the execution's history (the run's cost) is read without the SDK.
  finish: ['client-bedrock-runtime', 'client-s3vectors'],
  'approval-request': ['client-secrets-manager', 'client-sesv2'],
};

/**
 * What a cold start may load at most (bytes of JavaScript: `index.mjs` and its static chunks): the
 * issue's 250 KB. DynamoDB, Lambda and Step Functions are spoken directly (`lambdas/adapters/dynamo-http.ts`,
 * `lambda-tools.ts`, `sfn-engine.ts`), so no SDK client and none of `@smithy/core` is loaded before first use.
 */
const COLD_START_BUDGET = 250 * 1024;

const clientsOf = (files: Iterable<string>) =>
  [...new Set([...files].map((f) => /@aws-sdk\/(client-[^/]+)\//.exec(f)?.[1]))]
    .filter((c): c is string => c !== undefined)
    .sort();

describe('function bundles', async () => {
  const fixture = join(REPO_ROOT, 'test/infra/fixtures/plain-workflows.ts');
  // Imported first, as synth has: the entries' generated validators cover its schemas.
  await import(fixture);
  const entries = writeHandlerEntries(fixture, REPO_ROOT);

  it.each(HANDLER_KINDS)(
    '%s carries exactly the AWS SDK clients of its ports, from their ES builds; its cold start loads only some',
    async (kind) => {
      const outdir = join(work, 'clients', kind);
      const result = await build({
        ...handlerBuildOptions(entries[kind], outdir, ['chaperone-source']),
        metafile: true,
        write: false,
      });
      const inputs = Object.keys(result.metafile.inputs);
      expect(clientsOf(inputs)).toEqual(CLIENTS[kind]);
      // Tree-shakable ES builds, not the CommonJS ones (`module` stays on beside chaperone-source).
      expect(inputs.filter((f) => f.includes('/@aws-sdk/') || f.includes('/@smithy/'))).not.toContainEqual(
        expect.stringContaining('/dist-cjs/'),
      );
      // The SDK's default Node credential chain is replaced by the environment-only one.
      expect(inputs).not.toContainEqual(expect.stringContaining('/credential-provider-node/'));
      expect(inputs).not.toContainEqual(expect.stringContaining('/credential-provider-ini/'));
      if (CLIENTS[kind].length > 0)
        expect(inputs).toContainEqual(expect.stringContaining('adapters/aws-credentials.ts'));
      for (const file of result.outputFiles.filter((f) => f.path.endsWith('.mjs')))
        expect(file.text).not.toMatch(/from\s*"@aws-sdk\//);

      const sizes = bundleSizes(result.metafile, outdir);
      const coldInputs = Object.entries(result.metafile.outputs)
        .filter(([out]) => sizes.coldStartFiles.some((f) => resolve(out) === resolve(outdir, f)))
        .flatMap(([, o]) => Object.keys(o.inputs));
      expect(clientsOf(coldInputs)).toEqual([]);
      expect(coldInputs).not.toContainEqual(expect.stringContaining('/@smithy/core/'));
      // The STS/SSO clients of the default chain are gone (Bedrock's SSO token provider remains, in its lazy chunk).
      expect(coldInputs).not.toContainEqual(expect.stringContaining('/@aws-sdk/nested-clients/'));
      // No ajv compiler at cold start: the validators were generated as standalone code.
      expect(coldInputs).not.toContainEqual(expect.stringContaining('/ajv/dist/compile/'));
      expect(sizes.coldStartBytes).toBeLessThanOrEqual(COLD_START_BUDGET);
    },
  );

  it.each(HANDLER_KINDS)(
    '%s of the invoice example (its tools use DynamoDB through the SDK) stays within the cold-start budget',
    async (kind) => {
      const example = join(REPO_ROOT, 'examples/index.ts');
      await import(example);
      const exampleEntries = writeHandlerEntries(example, REPO_ROOT);
      const outdir = join(work, 'budget', kind);
      const result = await build({
        ...handlerBuildOptions(exampleEntries[kind], outdir, ['chaperone-source']),
        metafile: true,
        write: false,
      });
      const sizes = bundleSizes(result.metafile, outdir);
      // The example's backend (the SDK's DynamoDB client) is a chunk loaded where a tool first runs.
      expect(clientsOf(Object.keys(result.metafile.inputs))).toContain('client-dynamodb');
      expect(sizes.coldStartBytes).toBeLessThanOrEqual(COLD_START_BUDGET);
    },
  );

  it('each bundle imports alone, every validator generated at synth, and validates as ajv does', async () => {
    const outdir = join(work, 'alone', 'tool-runner');
    await build(handlerBuildOptions(entries['tool-runner'], outdir, ['chaperone-source']));
    const bad = {
      tool: 'echo',
      args: { text: 1, extra: true },
      runId: 'r1',
      idempotencyKey: 'k1',
      attempt: 1,
      timeoutMs: 1000,
    };
    const probe = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(process.argv[1]);
const handler = m.createHandler({ CHAPERONE_TOOL: 'echo' });
const answer = async (event) => { try { return await handler(event); } catch (err) { return err.name + ': ' + err.message; } };
console.log(JSON.stringify({
  missing: m.schemasCompiledOnFirstUse,
  badEvent: await answer({ tool: 'echo' }),
  badArgs: await answer(JSON.parse(process.argv[2])),
  ok: await answer({ ...JSON.parse(process.argv[2]), args: { text: 'hi' } }),
}));`,
        join(outdir, HANDLER_ENTRY_FILE),
        JSON.stringify(bad),
      ],
      { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } },
    );
    expect(probe.stderr).toBe('');
    const out = JSON.parse(probe.stdout) as Record<string, unknown>;
    // The sources, compiled by ajv in this process: the messages a model is fed back.
    const source = (await import(entries['tool-runner'])) as {
      createHandler: (env: Record<string, string>) => (event: unknown) => Promise<unknown>;
    };
    const inSource = source.createHandler({ CHAPERONE_TOOL: 'echo' });
    const answer = async (event: unknown) => {
      try {
        return await inSource(event);
      } catch (err) {
        return `${(err as Error).name}: ${(err as Error).message}`;
      }
    };
    expect(out).toEqual({
      missing: [],
      badEvent: await answer({ tool: 'echo' }),
      badArgs: await answer(bad),
      ok: await answer({ ...bad, args: { text: 'hi' } }),
    });
    expect(out.badArgs).toMatch(/arguments for echo are invalid: .*unknown property "extra"/);
    expect(out.ok).toEqual({ ok: true, value: { text: 'hi' } });
  });

  it.each(HANDLER_KINDS)('%s has a generated validator for every schema it defines', async (kind) => {
    const outdir = join(work, 'missing', kind);
    await build(handlerBuildOptions(entries[kind], outdir, ['chaperone-source']));
    const probe = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        'const m = await import(process.argv[1]); console.log(JSON.stringify([typeof m.handler, m.schemasCompiledOnFirstUse]));',
        join(outdir, HANDLER_ENTRY_FILE),
      ],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      },
    );
    expect(probe.stderr).toBe('');
    expect(JSON.parse(probe.stdout)).toEqual(['function', []]);
  });

  it('is what a synthesised AgentFunction deploys: the SDK inside the asset, nothing imported from the runtime, credentials from the environment', async () => {
    // Under the package root, as generated entries are, so the SDK resolves from its node_modules.
    const dir = join(REPO_ROOT, 'node_modules', '.cache', 'chaperone-test');
    const entry = join(dir, 'sns-entry.mts');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      entry,
      `import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
export const handler = async () => {
  const sns = new SNSClient({ region: 'us-east-1', endpoint: process.env.SNS_ENDPOINT, maxAttempts: 1 });
  return sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:1:t', Message: 'm' }));
};
`,
    );
    const outdir = join(work, 'cdk.out');
    const app = new App({ outdir });
    new AgentFunction(new Stack(app, 'Bundled'), 'Fn', { handlerPath: entry });
    app.synth();
    const asset = readdirSync(outdir).find(
      (d) => d.startsWith('asset.') && existsSync(join(outdir, d, HANDLER_ENTRY_FILE)),
    );
    expect(asset).toBeDefined();
    const code = readFileSync(join(outdir, asset ?? '', HANDLER_ENTRY_FILE), 'utf8');
    expect(code).toContain('AmazonSimpleNotificationService');
    // It runs with nothing beside it: no node_modules above a temp directory, no runtime SDK.
    const copy = join(work, 'alone-asset');
    cpSync(join(outdir, asset ?? ''), copy, { recursive: true });
    // A loopback SNS that records the Authorization header the bundled client signs with.
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'text/xml');
        res.end(
          '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-1</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>',
        );
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const invoke = (env: Record<string, string>) =>
      new Promise<{ stdout: string; stderr: string }>((ok) => {
        execFile(
          process.execPath,
          [
            '--input-type=module',
            '-e',
            `const m = await import(process.argv[1]);
try { const out = await m.handler(); console.log(out.MessageId); } catch (err) { console.log(err.name + ': ' + err.message); }`,
            join(copy, HANDLER_ENTRY_FILE),
          ],
          {
            encoding: 'utf8',
            env: {
              PATH: process.env.PATH ?? '',
              AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
              SNS_ENDPOINT: endpoint,
              // Ignored by the bundle's chain: Lambda never has ini files, and it reads none.
              AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-such-credentials'),
              ...env,
            },
          },
          (_err, stdout, stderr) => ok({ stdout, stderr }),
        );
      });
    try {
      const signed = await invoke({ AWS_ACCESS_KEY_ID: 'AKIDBUNDLETEST', AWS_SECRET_ACCESS_KEY: 'secret' });
      expect(signed.stderr).toBe('');
      expect(signed.stdout.trim()).toBe('m-1');
      expect(seen[0]).toContain('Credential=AKIDBUNDLETEST/');
      const none = await invoke({});
      expect(none.stdout).toMatch(
        /^CredentialsProviderError: No AWS credentials: neither AWS_ACCESS_KEY_ID\/AWS_SECRET_ACCESS_KEY nor AWS_CONTAINER_CREDENTIALS/,
      );
      expect(seen).toHaveLength(1);
    } finally {
      server.close();
    }
  });
});
