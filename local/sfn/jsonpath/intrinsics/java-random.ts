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
  const m = bound - 1;
  let u = next(31);
  if ((bound & m) === 0) return Number((BigInt(bound) * BigInt(u)) >> 31n);
  // Rejection sampling, as in java.util.Random#nextInt(int) (there via int overflow).
  let r = u % bound;
  while (u - r + m > 2147483647) {
    u = next(31);
    r = u % bound;
  }
  return r;
}
