import type { ChaosFigures, FigureDetails } from './figures.js';

const ROWS: Array<[keyof ChaosFigures, string, keyof FigureDetails | undefined]> = [
  ['runsPosted', 'runs posted', undefined],
  ['kills', 'server kills (SIGKILL)', undefined],
  ['runsLost', 'runs lost (accepted or retried, no run or no execution)', 'lost'],
  ['runsStuck', 'runs stuck (not terminal by the deadline)', 'stuck'],
  ['runsFailed', 'runs ended but not SUCCEEDED', 'failed'],
  [
    'sideEffectsDoubled',
    'side effects doubled (extra payments, payments without their tool_call)',
    'doubled',
  ],
  ['modelCallsRepeated', 'model calls repeated without a crash in flight', 'repeated'],
  ['conversationsChanged', 'conversations changed by a retry', 'changed'],
  ['trailEventsMissing', 'trail events missing', 'missing'],
  ['trailEventsDuplicated', 'trail events duplicated', 'duplicated'],
  ['tokensUnsettled', 'tokens reserved and never settled', 'unsettled'],
];

/** The one table `npm run chaos` prints, with a few examples under each nonzero figure. */
export function renderTable(
  f: ChaosFigures,
  d: FigureDetails,
  meta: { seed: number; seconds: number },
): string {
  const width = Math.max(...ROWS.map(([, label]) => label.length));
  const out = [`npm run chaos (seed ${meta.seed}, ${meta.seconds.toFixed(0)} s)`, ''];
  out.push(`| ${'figure'.padEnd(width)} | ${'value'.padStart(7)} |`);
  out.push(`| ${'-'.repeat(width)} | ${'-'.repeat(7)} |`);
  for (const [key, label] of ROWS) out.push(`| ${label.padEnd(width)} | ${String(f[key]).padStart(7)} |`);
  const examples = ROWS.flatMap(([, label, k]) =>
    k && d[k].length > 0 ? [`${label}:`, ...d[k].slice(0, 3).map((x) => `  ${x}`)] : [],
  );
  if (examples.length > 0) out.push('', 'For example:', ...examples);
  return out.join('\n');
}
