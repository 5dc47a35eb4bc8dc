import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HANDLER_KINDS } from '../../infra/constructs/handler-entries.js';
import { REPO_ROOT } from '../../infra/repo-root.js';

const run = promisify(execFile);
const missing = HANDLER_KINDS.map((kind) => `lambdas/handlers/${kind}.ts`).filter(
  (file) => !existsSync(join(REPO_ROOT, file)),
);

/** The environment of a machine with no AWS account: no credentials, no profile, no instance metadata. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!k.startsWith('AWS_') && !k.startsWith('CDK_')) env[k] = v;
  return {
    ...env,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}

describe('npx cdk synth', () => {
  // Bundles the six handlers with esbuild and runs cdk-nag and CloudFormation validation: slow.
  it.skipIf(missing.length > 0)(
    `synthesises offline, bundled, with cdk-nag passing${missing.length > 0 ? ` (skipped: missing ${missing.join(', ')})` : ''}`,
    async () => {
      // Arrange
      const outdir = mkdtempSync(join(tmpdir(), 'chaperone-cdk-synth-'));
      try {
        // Act: output captured, never printed.
        const { stdout, stderr } = await run(
          'npx',
          ['cdk', 'synth', '--quiet', '--no-notices', '--output', outdir],
          {
            cwd: REPO_ROOT,
            env: offlineEnv(),
            maxBuffer: 64 * 1024 * 1024,
            timeout: 540_000,
          },
        );

        // Assert
        const template = JSON.parse(readFileSync(join(outdir, 'Chaperone.template.json'), 'utf8')) as {
          Resources: Record<string, { Type: string; Properties?: { Code?: unknown } }>;
        };
        const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
        expect(`${stdout}\n${stderr}`).not.toMatch(/AwsSolutions-/);
        expect(functions.length).toBeGreaterThanOrEqual(6);
        for (const fn of functions) expect(JSON.stringify(fn.Properties?.Code)).toContain('S3Key');
      } finally {
        rmSync(outdir, { recursive: true, force: true });
      }
    },
    600_000,
  );
});
