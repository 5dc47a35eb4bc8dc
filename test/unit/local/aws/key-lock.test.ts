import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { type KeyLock, keyLock } from '../../../../local/aws/key-lock.js';
import { seeded } from '../../../support/differential.js';

/**
 * The item lock must grant what the `lock` package (dynalite's) grants, in
 * the same order and on the same turns: seeded schedules of callers taking
 * one key or several, holding them for a few turns and releasing, run on
 * both, and their logs compared event by event.
 */
const require = createRequire(import.meta.url);
const { Lock } = require(require.resolve('lock', { paths: [require.resolve('dynalite')] })) as {
  Lock: () => KeyLock;
};

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

interface Caller {
  id: number;
  start: number;
  hold: number;
  keys: string | string[];
}

function schedule(seed: number, callers: number): Caller[] {
  const next = seeded(seed);
  const names = ['a', 'b', 'c', 'd', `item-Runs~${'9f'.repeat(20)}/`];
  const key = () => names[Math.floor(next() * names.length)] as string;
  return Array.from({ length: callers }, (_, id) => {
    const several = next() < 0.5;
    const keys = several ? [...new Set(Array.from({ length: 1 + Math.floor(next() * 3) }, key))] : key();
    return { id, start: Math.floor(next() * 12), hold: Math.floor(next() * 4), keys };
  });
}

async function run(lock: KeyLock, callers: Caller[]): Promise<string[]> {
  const log: string[] = [];
  let turn = 0;
  let ticking = true;
  const clock = (async () => {
    while (ticking) {
      await turns(1);
      turn++;
    }
  })();
  await Promise.all(
    callers.map(async (c) => {
      await turns(c.start);
      log.push(`${turn} ask ${c.id}`);
      await new Promise<void>((done) =>
        lock(c.keys, (release) => {
          log.push(
            `${turn} got ${c.id} ${String(c.keys)} held:${[c.keys].flat().map((k) => lock.isLocked(k))}`,
          );
          void turns(c.hold).then(() => {
            log.push(`${turn} free ${c.id}`);
            release(() => done())();
          });
        }),
      );
    }),
  );
  ticking = false;
  await clock;
  return log;
}

describe('the item lock', () => {
  for (const seed of [1, 2, 3, 4, 5, 6])
    it(`grants as dynalite's lock package does, in order and on the same turns (schedule ${seed})`, async () => {
      const callers = schedule(seed, 30);
      const theirs = await run(Lock(), callers);
      const ours = await run(keyLock(), callers);
      expect(ours).toEqual(theirs);
      expect(ours.filter((l) => l.includes(' got ')).length).toBe(30);
    });

  it('lets nobody else hold a key until it is released, and frees it after', async () => {
    const lock = keyLock();
    const order: string[] = [];
    let first: (() => void) | undefined;
    lock(['x', 'y'], (release) => {
      order.push('both');
      first = release(() => order.push('released'));
    });
    lock('y', (release) => {
      order.push('y');
      release()();
    });
    await turns(3);
    expect(order).toEqual(['both']);
    expect(lock.isLocked('y')).toBe(true);
    first?.();
    await turns(3);
    expect(order).toEqual(['both', 'released', 'y']);
    expect(lock.isLocked('x')).toBe(false);
    expect(lock.isLocked('y')).toBe(false);
  });
});
