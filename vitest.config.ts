import { defineConfig } from 'vitest/config';

export default defineConfig({
  // `chaperone`, `chaperone/cdk` and `chaperone/testing` resolve to the sources in this repository.
  resolve: { conditions: ['chaperone-source'] },
  ssr: { resolve: { conditions: ['chaperone-source'] } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    setupFiles: ['test/setup/fail-on-console.ts'],
    env: {
      // Every AWS SDK v3 client constructor calls emitWarningIfUnsupportedVersion(process.version):
      // on Node < 22 it prints a NodeVersionSupportWarning once per process, i.e. once per test
      // file that builds a client. The handlers target Lambda's nodejs22.x (infra/), where it
      // never fires; the tests run on the machine's Node 20 (package.json engines). This is the
      // SDK's own switch for that notice, not a filter on stderr: other warnings still print.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
  },
});
