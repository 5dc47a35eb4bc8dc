/**
 * Conformance runner: runs every case of the Step Functions corpus
 * (`../shared/conformance/stepfunctions`, or CHAPERONE_CONFORMANCE_DIR) on the
 * local interpreter and prints pass rates. It measures; it always exits 0.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatReport } from './report.js';
import { type CaseResult, type ConformanceCase, parseCase, runCase } from './run-case.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const corpus =
  process.env.CHAPERONE_CONFORMANCE_DIR ?? resolve(repoRoot, '..', 'shared', 'conformance', 'stepfunctions');
const CONCURRENCY = Number(process.env.CHAPERONE_CONFORMANCE_CONCURRENCY ?? 16);
const CAP_MS = Number(process.env.CHAPERONE_CONFORMANCE_CAP_MS ?? 20_000);

function loadCases(dir: string, filter: string | undefined): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  const casesDir = join(dir, 'cases');
  for (const category of readdirSync(casesDir).sort()) {
    const catDir = join(casesDir, category);
    for (const file of readdirSync(catDir).sort()) {
      if (!file.endsWith('.json')) continue;
      const c = parseCase(JSON.parse(readFileSync(join(catDir, file), 'utf8')));
      if (c && (!filter || c.id.includes(filter))) out.push(c);
    }
  }
  return out;
}

async function runAll(cases: ConformanceCase[]): Promise<CaseResult[]> {
  const results: CaseResult[] = new Array(cases.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < cases.length) {
      const i = next++;
      results[i] = await runCase(cases[i] as ConformanceCase, CAP_MS);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, cases.length) }, worker));
  return results;
}

async function main(): Promise<void> {
  if (!existsSync(join(corpus, 'cases'))) {
    process.stdout.write(`conformance corpus not found at ${corpus}; nothing to measure.\n`);
    return;
  }
  const cases = loadCases(corpus, process.argv[2]);
  process.on('unhandledRejection', () => undefined);
  const started = Date.now();
  const results = await runAll(cases);
  process.stdout.write(formatReport(cases, results, Date.now() - started));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`conformance runner failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(0);
  },
);
