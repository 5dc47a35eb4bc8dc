import { readFileSync } from 'node:fs';
import { INJECTION_THRESHOLD, injectionScore } from '../../lambdas/core/input-guardrails.js';
import { round, table } from './table.js';

interface Sample {
  id: string;
  label: 'benign' | 'malicious';
  category: string;
  text: string;
}

const SAMPLE_URL = new URL('../../examples/guardrail-samples/prompts.json', import.meta.url);

function loadSample(): Sample[] {
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
      (s.label !== 'benign' && s.label !== 'malicious')
    ) {
      throw new Error(
        `prompts.json: prompt ${i} needs id, category, text and a label of benign or malicious`,
      );
    }
    return { id: s.id, label: s.label, category: s.category, text: s.text };
  });
}

/**
 * Precision, recall and F1 of the prompt-injection heuristics on the labelled
 * sample ("positive" = rejected as an injection), and every prompt they got wrong.
 */
export function benchGuardrailQuality(): string {
  const sample = loadSample();
  const scored = sample.map((s) => ({ ...s, ...injectionScore(s.text) }));
  const flagged = (s: (typeof scored)[number]) => s.score >= INJECTION_THRESHOLD;
  const tp = scored.filter((s) => s.label === 'malicious' && flagged(s)).length;
  const fp = scored.filter((s) => s.label === 'benign' && flagged(s)).length;
  const fn = scored.filter((s) => s.label === 'malicious' && !flagged(s)).length;
  const tn = scored.filter((s) => s.label === 'benign' && !flagged(s)).length;
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 0 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);

  const summary = table(
    `Input guardrail heuristics on examples/guardrail-samples/prompts.json (${sample.length} prompts, reject at score >= ${INJECTION_THRESHOLD})`,
    ['benign', 'malicious', 'TP', 'FP', 'FN', 'TN', 'precision', 'recall', 'F1'],
    [
      [
        sample.length - scored.filter((s) => s.label === 'malicious').length,
        scored.filter((s) => s.label === 'malicious').length,
        tp,
        fp,
        fn,
        tn,
        round(precision, 3),
        round(recall, 3),
        round(f1, 3),
      ],
    ],
  );

  const categories = [...new Set(scored.filter((s) => s.label === 'malicious').map((s) => s.category))];
  const byCategory = table(
    'Recall by attack category',
    ['category', 'prompts', 'caught', 'recall'],
    categories.map((c) => {
      const of = scored.filter((s) => s.label === 'malicious' && s.category === c);
      const caught = of.filter(flagged).length;
      return [c, of.length, caught, round(caught / of.length, 2)];
    }),
  );

  const wrong = scored.filter((s) => flagged(s) !== (s.label === 'malicious'));
  const misclassified = table(
    `Misclassified (${wrong.length})`,
    ['id', 'truth', 'got', 'score', 'matched', 'text'],
    wrong.map((s) => [
      s.id,
      s.label,
      flagged(s) ? 'rejected' : 'passed',
      String(s.score),
      s.matched.join(',') || '-',
      clip(s.text, 90),
    ]),
  );
  return [summary, byCategory, misclassified].join('\n');
}

function clip(text: string, max: number): string {
  const one = text.replace(/\s+/g, ' ');
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
