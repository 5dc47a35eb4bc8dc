import { createRequire } from 'node:module';

/**
 * What the differential tests share: a seeded PRNG (mulberry32), so a
 * failure repeats, and a fresh copy of a CommonJS module, so a test compares
 * against the original functions even after the local runtime has replaced
 * some of them on the cached copy.
 */
export function seeded(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), t | 1);
    r ^= r + Math.imul(r ^ (r >>> 7), r | 61);
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

const require = createRequire(import.meta.url);

/** A new instance of the module `id` (its dependencies shared), leaving the cached one in place. */
export function freshModule<T>(id: string): T {
  const path = require.resolve(id);
  const cached = require.cache[path];
  delete require.cache[path];
  try {
    return require(id) as T;
  } finally {
    if (cached) require.cache[path] = cached;
  }
}
