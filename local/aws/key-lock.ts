/**
 * The per-item lock dynalite's actions and the transactions take (the `lock`
 * package's `Lock()`: first come first served per key, the next holder
 * called on the turn after a release, a list of keys granted once every key
 * is), kept in a `Map` of queues.
 *
 * Why: `lock` keeps its queues in a plain object keyed by the item keys, and
 * a lock on several keys builds one more object whose property names are
 * those keys; with every item key a new property name, each transaction grew
 * V8's hidden-class transitions and wrote through slow lookups (about 1% of
 * the agent loop's CPU in a profile). The grants, their order and their
 * timing are the package's (`key-lock.test.ts` runs both on the same seeded
 * schedules).
 */

/** Wraps a callback so that calling the wrapper releases what was granted, then calls it. */
export type Release = <F extends (...args: never[]) => void>(done?: F) => F;
type Holder = (release: Release) => void;

/** `lock(key | keys, exec)`: `exec(release)` once every key is this caller's. */
export type KeyLock = ((key: string | string[], exec: Holder) => void) & { isLocked(key: string): boolean };

export function keyLock(): KeyLock {
  const queues = new Map<string, Holder[]>();

  const releaser =
    (key: string, holder: Holder): Release =>
    <F extends (...args: never[]) => void>(done?: F) =>
      ((...args: never[]) => {
        release(key, holder);
        if (done) done(...args);
      }) as F;

  const release = (key: string, holder: Holder): void => {
    const queue = queues.get(key);
    const i = queue ? queue.indexOf(holder) : -1;
    if (!queue || i < 0) return;
    queue.splice(i, 1);
    if (queue.length === 0) {
      queues.delete(key);
      return;
    }
    // The next holder is called on a later turn, always after the released callback.
    setImmediate(() => {
      const next = queues.get(key)?.[0];
      if (next) next(releaser(key, next));
    });
  };

  /** Queues `holder` on `key`; true when it holds the key at once. */
  const enqueue = (key: string, holder: Holder): boolean => {
    const queue = queues.get(key);
    if (queue && queue.length > 0) {
      queue.push(holder);
      return false;
    }
    queues.set(key, [holder]);
    return true;
  };

  const lock = ((key: string | string[], exec: Holder): void => {
    if (!Array.isArray(key)) {
      if (enqueue(key, exec)) exec(releaser(key, exec));
      return;
    }
    let waiting = key.length;
    // Per distinct key, the holder queued on it (a key named twice is queued twice, released once, as in `lock`).
    const held = new Map<string, Holder>();
    const all: Release = <F extends (...args: never[]) => void>(done?: F) =>
      ((...args: never[]) => {
        for (const [k, holder] of held) release(k, holder);
        (done as ((...a: never[]) => void) | undefined)?.(...args);
      }) as F;
    for (const k of key) {
      let calls = 0;
      const ready: Holder = () => {
        if (calls++) return;
        if (!--waiting) exec(all);
      };
      held.set(k, ready);
      if (enqueue(k, ready)) ready(all);
    }
  }) as KeyLock;
  lock.isLocked = (key) => (queues.get(key)?.length ?? 0) > 0;
  return lock;
}
