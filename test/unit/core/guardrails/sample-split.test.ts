import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface Prompt {
  id: string;
  label: string;
  channel: string;
  split: string;
  text: string;
}

const doc = JSON.parse(
  readFileSync(new URL('../../../../examples/guardrail-samples/prompts.json', import.meta.url), 'utf8'),
) as { split: { rule: string }; prompts: Prompt[] };

/** The rule written in the sample: test when sha256(text)[0] < 102. */
const partOf = (text: string) =>
  (createHash('sha256').update(text, 'utf8').digest()[0] ?? 255) < 102 ? 'test' : 'dev';

describe('the labelled sample', () => {
  it('puts every prompt in the part its text hashes to (nobody moved one)', () => {
    const moved = doc.prompts.filter((p) => p.split !== partOf(p.text)).map((p) => p.id);

    expect(doc.split.rule).toContain('sha256');
    expect(moved).toEqual([]);
  });

  it('has both labels and both channels in the frozen test part', () => {
    const test = doc.prompts.filter((p) => p.split === 'test');
    const count = (f: (p: Prompt) => boolean) => test.filter(f).length;

    expect(count((p) => p.label === 'malicious')).toBeGreaterThanOrEqual(30);
    expect(count((p) => p.label === 'benign')).toBeGreaterThanOrEqual(30);
    expect(count((p) => p.channel === 'tool_result' && p.label === 'malicious')).toBeGreaterThan(0);
    expect(new Set(doc.prompts.map((p) => p.id)).size).toBe(doc.prompts.length);
  });
});
