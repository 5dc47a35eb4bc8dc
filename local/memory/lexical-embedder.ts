/**
 * The local stand-in's embedding: LEXICAL, not a neural model. Words are
 * lower-cased, stop words dropped, endings stripped, and the stems and
 * adjacent-stem pairs are hashed (signed feature hashing) into a vector of
 * the asked size, term frequencies log-scaled, the result normalised to
 * length 1. Cosine similarity is then word overlap, weighted: it finds the
 * chunk that shares a question's words, not one that paraphrases it. Every
 * quality figure measured with it says so (`local/bench/memory.ts`).
 */

const STOP = new Set(
  'a an and are as at be been but by can could did do does for from had has have how i if in into is it its may me must my no not of on or our shall should so than that the their them then there these they this those to under up was we were what when where which who whom why will with would you your yours per any all each every also about after before over only same such via'.split(
    ' ',
  ),
);

/** A crude stemmer: enough that "refunds", "refunded" and "refunding" meet. */
export function stem(word: string): string {
  if (word.length <= 4 || /^\d/.test(word)) return word;
  for (const [suffix, keep] of [
    ['ies', 'y'],
    ['ied', 'y'],
    ['ing', ''],
    ['ed', ''],
    ['es', ''],
    ['ly', ''],
    ['s', ''],
  ] as const) {
    if (word.endsWith(suffix) && word.length - suffix.length >= 3)
      return word.slice(0, -suffix.length) + keep;
  }
  return word;
}

/** The stems of a text, in order, without stop words. */
export function stems(text: string): string[] {
  return (
    text
      .normalize('NFKC')
      .toLowerCase()
      .match(/[\p{L}\p{N}]+/gu) ?? []
  )
    .filter((w) => !STOP.has(w) && w.length > 1)
    .map(stem);
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** The lexical embedding of `text`: `dimension` floats of length 1 (all zero for a text of only stop words). */
export function lexicalEmbedding(text: string, dimension: number): number[] {
  const counts = new Map<string, number>();
  const words = stems(text);
  const add = (feature: string, weight: number) => counts.set(feature, (counts.get(feature) ?? 0) + weight);
  words.forEach((w, i) => {
    add(w, 1);
    const next = words[i + 1];
    if (next) add(`${w} ${next}`, 0.5);
  });
  const v = new Array<number>(dimension).fill(0);
  for (const [feature, tf] of counts) {
    const h = fnv1a(feature);
    const sign = h & 0x80000000 ? -1 : 1;
    v[h % dimension] = (v[h % dimension] ?? 0) + sign * (1 + Math.log(tf));
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return norm === 0 ? v : v.map((x) => x / norm);
}
