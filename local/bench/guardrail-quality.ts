import { readFileSync } from 'node:fs';
import { INJECTION_THRESHOLD } from '../../lambdas/core/guardrails/patterns.js';
import { scanText } from '../../lambdas/core/guardrails/scan.js';
import { screenToolResult } from '../../lambdas/core/guardrails/tool-output.js';
import { round, table } from './table.js';

/** One labelled prompt of `examples/guardrail-samples/prompts.json`. */
export interface Sample {
  id: string;
  label: 'benign' | 'malicious';
  category: string;
  channel: 'input' | 'tool_result';
  language: string;
  split: 'dev' | 'test';
  text: string;
}

const SAMPLE_URL = new URL('../../examples/guardrail-samples/prompts.json', import.meta.url);

/** The labelled sample, checked field by field (a bad entry is named). */
export function loadSample(): Sample[] {
  const doc: unknown = JSON.parse(readFileSync(SAMPLE_URL, 'utf8'));
  const prompts =
    typeof doc === 'object' && doc !== null ? (doc as { prompts?: unknown }).prompts : undefined;
  if (!Array.isArray(prompts)) throw new Error('prompts.json: "prompts" must be an array');
  return prompts.map((p: unknown, i) => {
    const s = (p ?? {}) as Record<string, unknown>;
    if (
      typeof s.id !== 'string' ||
      typeof s.text !== 'string' ||
      typeof s.category !== 'string' ||
      typeof s.language !== 'string' ||
      (s.label !== 'benign' && s.label !== 'malicious') ||
      (s.channel !== 'input' && s.channel !== 'tool_result') ||
      (s.split !== 'dev' && s.split !== 'test')
    ) {
      throw new Error(
        `prompts.json: prompt ${i} needs id, category, language, text, a label (benign | malicious), a channel (input | tool_result) and a split (dev | test)`,
      );
    }
    return {
      id: s.id,
      label: s.label,
      category: s.category,
      channel: s.channel,
      language: s.language,
      split: s.split,
      text: s.text,
    };
  });
}

/**
 * The heuristic tier's verdict on one prompt, the way the product reaches it:
 * a run input is scanned as it is (every string of the input is, and these are
 * one string each); a tool result goes through the tool-output screen, which
 * scans the whole text and each string of a JSON result.
 */
export function heuristicFlags(s: Sample): boolean {
  if (s.channel === 'input') return scanText(s.text).flagged;
  return screenToolResult({
    runId: 'bench',
    step: 'bench',
    toolUseId: s.id,
    tool: 'bench_tool',
    content: s.text,
    mode: 'quarantine',
  }).flagged;
}

/** Recall and false-positive rate of a verdict over labelled samples. */
export function detection(samples: readonly Sample[], flagged: (s: Sample) => boolean) {
  const bad = samples.filter((s) => s.label === 'malicious');
  const good = samples.filter((s) => s.label === 'benign');
  const tp = bad.filter(flagged).length;
  const fp = good.filter(flagged).length;
  return {
    malicious: bad.length,
    benign: good.length,
    tp,
    fp,
    recall: bad.length ? tp / bad.length : 0,
    falsePositiveRate: good.length ? fp / good.length : 0,
    precision: tp + fp ? tp / (tp + fp) : 0,
  };
}

/**
 * The heuristic tier on the labelled sample's frozen test part (never tuned
 * on): overall, by channel and by attack family. Misclassified prompts are
 * listed from the dev part only — listing the test part's would invite tuning
 * on it.
 */
export function benchGuardrailQuality(): { text: string; json: Record<string, unknown> } {
  const sample = loadSample();
  const test = sample.filter((s) => s.split === 'test');
  const dev = sample.filter((s) => s.split === 'dev');
  const flagged = heuristicFlags;
  const row = (name: string, of: readonly Sample[]) => {
    const d = detection(of, flagged);
    return [
      name,
      d.malicious,
      d.benign,
      d.tp,
      d.fp,
      round(d.recall, 3),
      round(d.falsePositiveRate, 3),
      round(d.precision, 3),
    ];
  };
  const header = ['part', 'malicious', 'benign', 'caught', 'false pos.', 'recall', 'FP rate', 'precision'];
  const summary = table(
    `Injection heuristics (normalised text, flag at score >= ${INJECTION_THRESHOLD}) on the frozen test part of examples/guardrail-samples/prompts.json (${test.length} of ${sample.length}; split by sha256 of the text)`,
    header,
    [
      row('test: all', test),
      row(
        'test: run inputs',
        test.filter((s) => s.channel === 'input'),
      ),
      row(
        'test: tool results',
        test.filter((s) => s.channel === 'tool_result'),
      ),
      row(
        'test: not English',
        test.filter((s) => s.language !== 'en'),
      ),
      row(
        'test: v3 prompts (unseen by every heuristic)',
        test.filter((s) => s.id.startsWith('v3-')),
      ),
      row('dev (tuned on; not a figure)', dev),
    ],
  );
  const families = [...new Set(test.filter((s) => s.label === 'malicious').map((s) => s.category))].sort();
  const byFamily = table(
    'Test-part recall by attack family',
    ['family', 'prompts', 'caught', 'recall'],
    families.map((c) => {
      const of = test.filter((s) => s.label === 'malicious' && s.category === c);
      const caught = of.filter(flagged).length;
      return [c, of.length, caught, round(caught / of.length, 2)];
    }),
  );
  const wrong = dev.filter((s) => flagged(s) !== (s.label === 'malicious'));
  const misclassified = table(
    `Dev part misclassified (${wrong.length}; the test part's are not listed)`,
    ['id', 'truth', 'got', 'matched', 'text'],
    wrong.map((s) => {
      const scan = scanText(s.text);
      return [
        s.id,
        s.label,
        scan.flagged ? 'flagged' : 'passed',
        scan.matched.join(',') || '-',
        clip(s.text, 80),
      ];
    }),
  );
  const t = detection(test, flagged);
  const v3 = detection(
    test.filter((s) => s.id.startsWith('v3-')),
    flagged,
  );
  return {
    text: [summary, byFamily, misclassified].join('\n'),
    json: {
      injectionRecall: round(t.recall, 3),
      injectionFalsePositiveRate: round(t.falsePositiveRate, 3),
      injectionRecallV3Test: round(v3.recall, 3),
      injectionFalsePositiveRateV3Test: round(v3.falsePositiveRate, 3),
    },
  };
}

function clip(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
