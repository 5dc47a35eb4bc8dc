import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 4096;

/**
 * A PRNG for ULIDs (`ulid(time, prng)`, `monotonicFactory(prng)`): the same
 * cryptographic bytes `ulid` draws by default, taken from a pool filled 4 KiB
 * at a time instead of one `getRandomValues` call per character (16 per id).
 * Returns a number in [0, 1) with 8 random bits, as `ulid`'s own PRNG does.
 */
export function pooledPrng(): () => number {
  const pool = new Uint8Array(POOL_BYTES);
  let next = POOL_BYTES;
  return () => {
    if (next === POOL_BYTES) {
      randomFillSync(pool);
      next = 0;
    }
    const byte = pool[next] as number;
    next += 1;
    return byte / 256;
  };
}
