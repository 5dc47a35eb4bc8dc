import { normalise } from './normalise.js';
import { INJECTION_HEURISTICS, INJECTION_THRESHOLD } from './patterns.js';

/** The heuristic tier's verdict on one text. */
export interface ScanResult {
  /** The highest score over the text's views. */
  score: number;
  flagged: boolean;
  /** The heuristics that matched in the view that scored highest. */
  matched: string[];
  /** That view's label (`text`, `text:folded`, `text:decoded:base64`, …). */
  view: string;
  /** Obfuscations normalising found (`invisible`, `mixed_script`, `decoded:hex`, …). */
  findings: string[];
}

/** Hidden characters inside words weigh one point: ordinary text rarely has them, attacks often do. */
const SUSPICIOUS_FINDINGS = new Set(['invisible', 'bidi_override', 'mixed_script']);

/** A decoded segment that gives an order: data has no reason to hide one. */
const ENCODED_COMMAND =
  /\b(approve|pay|ignore|disregard|transfer|wire|delete|send|show|export|skip|forward)\b/i;

/** Score one text's views; the text is flagged when any view reaches the threshold. */
export function scanText(text: string): ScanResult {
  const { views, findings } = normalise(text);
  const obfuscation = findings.some((f) => SUSPICIOUS_FINDINGS.has(f)) ? 1 : 0;
  let best: ScanResult | undefined;
  for (const view of views) {
    let score = obfuscation;
    const matched = obfuscation ? ['obfuscation'] : [];
    for (const h of INJECTION_HEURISTICS) {
      if (h.pattern.test(view.text)) {
        score += h.score;
        matched.push(h.name);
      }
    }
    if (view.label.includes(':decoded:') && ENCODED_COMMAND.test(view.text)) {
      score += 1;
      matched.push('encoded-command');
    }
    if (!best || score > best.score) {
      best = { score, matched, view: view.label, findings, flagged: score >= INJECTION_THRESHOLD };
    }
  }
  return best ?? { score: 0, matched: [], view: 'text', findings, flagged: false };
}
