#!/usr/bin/env node
/**
 * The `chaperone` command of the package.
 *
 *   chaperone dev [options]        the embedded runtime on this project (its cdk.json app):
 *                                  Step Functions interpreter, dynalite, the local API, the
 *                                  outbox, the scripted model (--scenario) or ANTHROPIC_API_KEY
 *   chaperone runs get <runId>     and every other command of the run/approval CLI
 *   chaperone approvals …
 *
 * The project's TypeScript (its workflows module, imported by the functions)
 * loads through tsx, which this package depends on.
 */
import { register } from 'tsx/esm/api';

register();
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const write = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const [command, ...rest] = process.argv.slice(2);

async function run(): Promise<number> {
  if (command === 'dev') {
    const { main } = await import('./start.js');
    return main(['--serve', '--no-demo', ...rest], write, process.env, {
      stdin: process.stdin,
      stdout: process.stdout,
    });
  }
  const { main } = await import('./chaperone.js');
  return main(process.argv.slice(2), { write, env: process.env });
}

run().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `chaperone: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`,
    );
    process.exit(1);
  },
);
