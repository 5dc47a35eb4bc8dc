import type { Clock } from './types.js';

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

/** The wall clock, with real timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const timer = setTimeout(done, Math.max(0, ms));
      function done(): void {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }
      function onAbort(): void {
        clearTimeout(timer);
        reject(abortReason(signal as AbortSignal));
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};

interface Timer {
  due: number;
  seq: number;
  resolve(): void;
}

/**
 * A clock whose time only moves when told to: `advance(ms)` fires every timer
 * due in that span, in order. For unit tests.
 */
export class ManualClock implements Clock {
  protected current: number;
  protected timers: Timer[] = [];
  private seq = 0;

  constructor(start: number = Date.parse('2026-01-01T00:00:00.000Z')) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** Number of sleeps currently pending. */
  get pending(): number {
    return this.timers.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const timer: Timer = {
        due: this.current + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.timers = this.timers.filter((t) => t !== timer);
        reject(abortReason(signal as AbortSignal));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.timers.push(timer);
      this.onTimerAdded();
    });
  }

  /** Moves time forward by `ms`, firing due timers in order and letting their continuations run. */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    for (;;) {
      await flushMacrotasks();
      const next = this.earliest();
      if (!next || next.due > target) break;
      this.fire(next);
    }
    this.current = target;
    await flushMacrotasks();
  }

  protected onTimerAdded(): void {}

  protected earliest(): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers)
      if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    return best;
  }

  protected fire(timer: Timer): void {
    this.timers = this.timers.filter((t) => t !== timer);
    this.current = Math.max(this.current, timer.due);
    timer.resolve();
  }
}

/** Lets pending promise chains and immediates settle. */
export async function flushMacrotasks(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * A clock that jumps straight to the next pending timer once the process has
 * been idle for a few macrotask turns: Waits, Retry intervals and timeouts
 * take no real time, yet fire in the order their due times dictate.
 */
export class VirtualClock extends ManualClock {
  private pumping = false;

  protected override onTimerAdded(): void {
    if (this.pumping) return;
    this.pumping = true;
    void this.pump();
  }

  private async pump(): Promise<void> {
    while (this.timers.length > 0) {
      await new Promise<void>((r) => setTimeout(r, 2));
      await flushMacrotasks(5);
      const next = this.earliest();
      if (next) this.fire(next);
    }
    this.pumping = false;
  }
}
