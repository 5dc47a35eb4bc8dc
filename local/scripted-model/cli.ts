/**
 * Runs the scripted model by hand:
 *
 *     npx tsx local/scripted-model/cli.ts --port 8787 path/to/scenario.ts
 *
 * prints the base URL on stdout, serves until Ctrl-C, then prints on stderr
 * every request the scenario could not answer.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './errors.js';
import { loadScenario } from './load-scenario.js';
import { ScriptedModel } from './server.js';

const USAGE = 'usage: tsx local/scripted-model/cli.ts [--port N] <scenario-module>';

function parsePort(value: string | undefined): number {
  if (value === undefined) return 0;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`bad --port ${value}\n${USAGE}`);
  return port;
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { port: { type: 'string', short: 'p' } },
    allowPositionals: true,
  });
  const [path] = positionals;
  if (path === undefined || positionals.length > 1) throw new UsageError(USAGE);
  const scenario = await loadScenario(path);
  const model = await ScriptedModel.start({ port: parsePort(values.port) });
  model.use(scenario);
  process.stdout.write(`${model.url}\n`);
  process.stderr.write(`scripted model '${scenario.name}' listening; set ANTHROPIC_BASE_URL=${model.url}\n`);

  const stop = async () => {
    await model.close();
    const problems = model.exhausted();
    for (const problem of problems) process.stderr.write(`${problem}\n`);
    process.exit(problems.length > 0 ? 1 : 0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
