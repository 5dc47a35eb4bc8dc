import type { CaseResult, ConformanceCase } from './run-case.js';

function pct(pass: number, total: number): string {
  return total === 0 ? '   -  ' : `${((pass / total) * 100).toFixed(1).padStart(5)}%`;
}

/** Pass-rate table by category and query language, headline figures, then the failures. */
export function formatReport(cases: ConformanceCase[], results: CaseResult[], elapsedMs: number): string {
  const rows = new Map<string, { pass: number; total: number }>();
  const bump = (key: string, pass: boolean): void => {
    const r = rows.get(key) ?? { pass: 0, total: 0 };
    r.total++;
    if (pass) r.pass++;
    rows.set(key, r);
  };
  const headline = {
    jsonata: { pass: 0, total: 0 },
    lambda: { pass: 0, total: 0 },
    callback: { pass: 0, total: 0 },
    all: { pass: 0, total: 0 },
  };
  cases.forEach((c, i) => {
    const pass = results[i]?.pass === true;
    const category = c.id.split('/')[0] ?? '?';
    bump(`${category}\t${c.queryLanguage}`, pass);
    const add = (h: { pass: number; total: number }): void => {
      h.total++;
      if (pass) h.pass++;
    };
    add(headline.all);
    if (c.queryLanguage === 'JSONata') add(headline.jsonata);
    if (c.features.includes('lambda')) add(headline.lambda);
    if (c.features.includes('callback')) add(headline.callback);
  });
  const lines: string[] = [];
  lines.push('category              query language   pass/total   rate');
  for (const key of [...rows.keys()].sort()) {
    const [cat, ql] = key.split('\t') as [string, string];
    const r = rows.get(key) as { pass: number; total: number };
    lines.push(
      `${cat.padEnd(22)}${ql.padEnd(17)}${`${r.pass}/${r.total}`.padStart(10)}   ${pct(r.pass, r.total)}`,
    );
  }
  lines.push('');
  for (const [label, h] of [
    ['JSONata cases', headline.jsonata],
    ['Lambda cases', headline.lambda],
    ['callback cases', headline.callback],
    ['all cases', headline.all],
  ] as const) {
    lines.push(`${label.padEnd(16)} ${`${h.pass}/${h.total}`.padStart(9)}  ${pct(h.pass, h.total)}`);
  }
  const compared = results.filter((r) => r.historyMatch !== undefined);
  const histOk = compared.filter((r) => r.historyMatch).length;
  lines.push(
    `${'event types'.padEnd(16)} ${`${histOk}/${compared.length}`.padStart(9)}  ${pct(histOk, compared.length)}  (secondary: recorded history reproduced type by type)`,
  );
  const detailed = results.filter((r) => r.historyDetail !== undefined);
  const detailOk = detailed.filter((r) => r.historyDetail === null).length;
  lines.push(
    `${'event details'.padEnd(16)} ${`${detailOk}/${detailed.length}`.padStart(9)}  ${pct(detailOk, detailed.length)}  (secondary: ids, previousEventId and details too)`,
  );
  lines.push(`(${(elapsedMs / 1000).toFixed(1)} s)`);
  const failures = results.filter((r) => !r.pass);
  if (failures.length > 0) {
    lines.push('', `failures (${failures.length}):`);
    for (const f of failures) lines.push(`  ${f.id}: ${(f.reason ?? '').replace(/\s+/g, ' ').slice(0, 300)}`);
  }
  if (process.env.CHAPERONE_CONFORMANCE_HISTORY) {
    const off = results.filter((r) => r.historyMatch === false);
    lines.push('', `history mismatches (${off.length}):`);
    for (const r of off) lines.push(`  ${r.id}: ${r.historyReason ?? ''}`);
    const offDetail = results.filter((r) => typeof r.historyDetail === 'string');
    lines.push('', `history detail mismatches (${offDetail.length}):`);
    for (const r of offDetail) lines.push(`  ${r.id}: ${String(r.historyDetail).slice(0, 260)}`);
  }
  return `${lines.join('\n')}\n`;
}
