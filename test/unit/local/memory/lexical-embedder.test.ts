import { describe, expect, it } from 'vitest';
import { cosine } from '../../../../lambdas/core/memory/vectors.js';
import { lexicalEmbedding, stems } from '../../../../local/memory/lexical-embedder.js';
import { answerTitanEmbed } from '../../../../local/memory/titan-stand-in.js';

describe('the local lexical embedder and its Titan stand-in', () => {
  it('gives unit vectors of the asked size, the same for the same text', () => {
    const v = lexicalEmbedding('Refunds are paid within five days', 512);
    expect(v).toHaveLength(512);
    expect(Math.hypot(...v)).toBeCloseTo(1, 6);
    expect(lexicalEmbedding('Refunds are paid within five days', 512)).toEqual(v);
  });

  it('scores shared stems above unrelated text, whatever the word endings', () => {
    const q = lexicalEmbedding('How are refunds paid?', 1024);
    const answer = lexicalEmbedding('A refund is paid back to the original card.', 1024);
    const other = lexicalEmbedding('Passwords must have fourteen characters.', 1024);
    expect(cosine(q, answer)).toBeGreaterThan(0.3);
    expect(Math.abs(cosine(q, other))).toBeLessThan(0.1);
    expect(stems('The refunds were refunded')).toEqual(['refund', 'refund']);
  });

  it('answers as Titan V2 does, and refuses what Titan refuses', () => {
    const ok = answerTitanEmbed(
      JSON.stringify({ inputText: 'hello world', dimensions: 256, normalize: true }),
    );
    expect(ok.status).toBe(200);
    expect((JSON.parse(ok.body) as { embedding: number[] }).embedding).toHaveLength(256);
    for (const bad of [
      { inputText: '' },
      { inputText: 'x', dimensions: 300 },
      { inputText: 'x', normalize: 'yes' },
    ]) {
      const r = answerTitanEmbed(JSON.stringify(bad));
      expect(r.status).toBe(400);
      expect(r.headers['x-amzn-errortype']).toBe('ValidationException');
    }
    expect(answerTitanEmbed('{nope').status).toBe(400);
  });
});
