/**
 * `new java.util.Random(seed).nextInt(bound)`, so that a seeded `States.MathRandom`
 * is reproducible the way a JVM-based implementation would be.
 */
const MULTIPLIER = 0x5deece66dn;
const ADDEND = 0xbn;
const MASK = (1n << 48n) - 1n;

/** First `nextInt(bound)` of a `java.util.Random` seeded with `seed`; `bound` must be positive. */
export function javaRandomInt(seed: number, bound: number): number {
  let state = (BigInt(seed) ^ MULTIPLIER) & MASK;
  const next = (bits: number): number => {
    state = (state * MULTIPLIER + ADDEND) & MASK;
    return Number(BigInt.asIntN(32, state >> BigInt(48 - bits)));
  };
  let r = next(31);
  const m = bound - 1;
  if ((bound & m) === 0) return Number((BigInt(bound) * BigInt(r)) >> 31n);
  for (let u = r; u - (r = u % bound) + m < 0 || u - r + m > 2147483647; u = next(31)) {
    // rejection sampling, as in java.util.Random#nextInt(int)
  }
  return r;
}
