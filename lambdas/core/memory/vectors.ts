import { EmbeddingDimensionError } from './errors.js';

/** Cosine similarity of two vectors of the same length (0 when either is zero). */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Throws `EmbeddingDimensionError` unless every vector is `dimension` long and finite. */
export function checkDimensions(vectors: readonly number[][], dimension: number, where: string): void {
  for (const v of vectors) {
    if (v.length !== dimension) throw new EmbeddingDimensionError(dimension, v.length, where);
    if (!v.every(Number.isFinite))
      throw new EmbeddingDimensionError(dimension, v.length, `${where} (non-finite values)`);
  }
}
