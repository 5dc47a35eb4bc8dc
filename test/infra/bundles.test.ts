/**
 * What each function's bundle holds: the AWS SDK inside it (not left to the
 * runtime's copy), in its ES build, and of its clients exactly those of the
 * ports the handler uses. Built with the options the construct deploys with.
 */

import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { AgentFunction } from '../../infra/constructs/agent-function.js';
import {
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
  api: [
    'client-bedrock-runtime',
    'client-dynamodb',
    'client-s3vectors',
    'client-secrets-manager',
    'client-sesv2',
    'client-sfn',
    'client-sns',
  ],
  // Bedrock's runtime client: the Bedrock model SDK's (and ApplyGuardrail, the embeddings), on first use.
  'agent-step': [
    'client-bedrock-runtime',
    'client-dynamodb',
    'client-s3vectors',
    'client-secrets-manager',
    'client-sns',
  ],
  'tool-step': ['client-dynamodb', 'client-lambda', 'client-sns'],
  'tool-runner': [],
  'code-step': ['client-dynamodb'],
  // The execution's history (the run's cost) and the episode it records (memory).
  finish: ['client-bedrock-runtime', 'client-dynamodb', 'client-s3vectors', 'client-sfn'],
  'approval-request': ['client-dynamodb', 'client-secrets-manager', 'client-sesv2', 'client-sfn'],
};

describe('function bundles', () => {
  const entries = writeHandlerEntries(join(REPO_ROOT, 'test/infra/fixtures/plain-workflows.ts'), REPO_ROOT);

  it.each(HANDLER_KINDS)(
    '%s carries exactly the AWS SDK clients of its ports, from their ES builds',
    async (kind) => {
      const result = await build({
        ...handlerBuildOptions(entries[kind], join(work, kind, 'index.mjs'), ['chaperone-source']),
        metafile: true,
        write: false,
      });
      const inputs = Object.keys(result.metafile.inputs);
      const clients = [...new Set(inputs.map((f) => /@aws-sdk\/(client-[^/]+)\//.exec(f)?.[1]))]
        .filter((c): c is string => c !== undefined)
        .sort();
      expect(clients).toEqual(CLIENTS[kind]);
      // Tree-shakable ES builds, not the CommonJS ones (`module` stays on beside chaperone-source).
      expect(inputs.filter((f) => f.includes('/@aws-sdk/') || f.includes('/@smithy/'))).not.toContainEqual(
        expect.stringContaining('/dist-cjs/'),
      );
      const code = result.outputFiles.find((f) => f.path.endsWith('.mjs'))?.text ?? '';
      expect(code).not.toMatch(/from\s*"@aws-sdk\//);
    },
  );

  it('is what a synthesised AgentFunction deploys: the SDK inside the asset, nothing imported from the runtime', () => {
    // Under the package root, as generated entries are, so the SDK resolves from its node_modules.
    const dir = join(REPO_ROOT, 'node_modules', '.cache', 'chaperone-test');
    const entry = join(dir, 'sns-entry.mts');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      entry,
      `import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
const sns = new SNSClient({});
export const handler = async () => sns.send(new PublishCommand({ TopicArn: 'arn:aws:sns:us-east-1:1:t', Message: 'm' }));
`,
    );
    const outdir = join(work, 'cdk.out');
    const app = new App({ outdir });
    new AgentFunction(new Stack(app, 'Bundled'), 'Fn', { handlerPath: entry });
    app.synth();
    const asset = readdirSync(outdir).find(
      (d) => d.startsWith('asset.') && existsSync(join(outdir, d, 'index.mjs')),
    );
    expect(asset).toBeDefined();
    const code = readFileSync(join(outdir, asset ?? '', 'index.mjs'), 'utf8');
    expect(code).toContain('AmazonSimpleNotificationService');
    // It runs with nothing beside it: no node_modules above a temp directory, no runtime SDK.
    const copy = join(work, 'alone', 'index.mjs');
    mkdirSync(join(copy, '..'), { recursive: true });
    writeFileSync(copy, code);
    const probe = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        'const m = await import(process.argv[1]); console.log(typeof m.handler);',
        copy,
      ],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      },
    );
    expect(probe.stderr).toBe('');
    expect(probe.stdout.trim()).toBe('function');
  });
});
