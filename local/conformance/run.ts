/**
 * Conformance runner: runs every case of the Step Functions corpus
 * (`../shared/conformance/stepfunctions`, or CHAPERONE_CONFORMANCE_DIR) on the
 * local interpreter and prints pass rates. Exit code: 0 when every case
 * passes, 1 when any fails (a case that crashes the runner fails), 2 when
 * there is nothing to measure (no corpus, no case) or the runner itself
 * crashes. `npm test` runs it, so a fidelity regression cannot land unseen.
 * An argument filters cases by id (`npm run conformance -- scenarios/`).
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

async function main(): Promise<number> {
  if (!existsSync(join(corpus, 'cases'))) {
    process.stderr.write(
      `conformance corpus not found at ${corpus} (a copy of shared/ beside the clone, or set CHAPERONE_CONFORMANCE_DIR)\n`,
    );
    return 2;
  }
  const filter = process.argv[2];
  const cases = loadCases(corpus, filter);
  if (cases.length === 0) {
    process.stderr.write(`no conformance case in ${corpus}${filter ? ` matches ${filter}` : ''}\n`);
    return 2;
  }
  // Work a case abandons (its cap passed) may reject later; its case is already counted as failed.
  process.on('unhandledRejection', () => undefined);
  const started = Date.now();
  const results = await runAll(cases);
  process.stdout.write(formatReport(cases, results, Date.now() - started));
  const failed = results.filter((r) => r?.pass !== true).length;
  process.stdout.write(
    `conformance: ${cases.length - failed} of ${cases.length} cases pass${failed > 0 ? `, ${failed} fail` : ''}\n`,
  );
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`conformance runner failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(2);
  },
);
