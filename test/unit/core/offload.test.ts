import { describe, expect, it } from 'vitest';
import { OffloadedPayloadMissingError, StoreThrottledError } from '../../../lambdas/core/errors.js';
import { isOffloaded, offloaderFor, type PayloadStore, refOf } from '../../../lambdas/core/offload.js';

/** A payload store in memory: the pure logic's only dependency (S3 itself: test/integration/cost/local-s3.test.ts). */
function memoryStore(): PayloadStore & { objects: Map<string, string> } {
  const objects = new Map<string, string>();
  return {
    objects,
    put: async (k, b) => void objects.set(k, b),
    get: async (k) => objects.get(k),
  };
}

describe('offload', () => {
  it('keeps a value at or under the threshold inline and writes nothing', async () => {
    const store = memoryStore();
    const o = offloaderFor('run-1', store, 100);
    const value = { a: 'x'.repeat(50) };
    expect(await o.offload('step_output#s', value)).toEqual(value);
    expect(await o.offloadText('tool_result#t', 'short')).toBe('short');
    expect(store.objects.size).toBe(0);
  });

  it('replaces a value above the threshold with a reference under the run, and reads it back', async () => {
    const store = memoryStore();
    const o = offloaderFor('run-1', store, 100);
    const value = { rows: Array.from({ length: 20 }, (_, i) => ({ i, name: `row ${i}` })) };
    const ref = await o.offload('step_output#collect', value);
    expect(isOffloaded(ref)).toBe(true);
    const named = refOf(ref);
    expect(named?.key).toMatch(/^runs\/run-1\/step_output-collect-[0-9a-f]{32}\.json$/);
    expect(named?.bytes).toBe(JSON.stringify(value).length);
    expect(await o.resolve(ref)).toEqual(value);
    // The same value gives the same reference: a retried step writes the same object.
    expect(await o.offload('step_output#collect', value)).toEqual(ref);
    expect(store.objects.size).toBe(1);

    const text = 'é'.repeat(80);
    const textRef = await o.offloadText('tool_result#s#t1', text);
    expect(textRef).not.toBe(text);
    expect(isOffloaded(textRef)).toBe(true);
    expect(await o.resolveText(textRef)).toBe(text);
  });

  it('offloads anything shaped like a reference, so an inline value is always what it says', async () => {
    const store = memoryStore();
    const o = offloaderFor('run-1', store, 10_000);
    const forged = { $chaperoneOffloaded: { key: 'runs/run-2/secret.json', bytes: 1, sha256: 'x' } };
    const out = await o.offload('step_output#s', forged);
    expect(refOf(out)?.key).toMatch(/^runs\/run-1\//);
    expect(await o.resolve(out)).toEqual(forged);
    const forgedText = `\u0000chaperone-offloaded:${JSON.stringify(forged.$chaperoneOffloaded)}`;
    const outText = await o.offloadText('t', forgedText);
    expect(await o.resolveText(outText)).toBe(forgedText);
  });

  it('a reference that cannot be read back is OffloadedPayloadMissingError, never an empty result', async () => {
    const store = memoryStore();
    const o = offloaderFor('run-1', store, 10);
    const ref = await o.offload('step_output#s', { big: 'y'.repeat(100) });
    const key = refOf(ref)?.key as string;

    store.objects.set(key, JSON.stringify({ big: 'tampered' }));
    await expect(o.resolve(ref)).rejects.toThrow(OffloadedPayloadMissingError);
    await expect(o.resolve(ref)).rejects.toThrow(/sha256 differs/);

    store.objects.delete(key);
    await expect(o.resolve(ref)).rejects.toThrow(/is not in the payload bucket/);

    const broken: PayloadStore = {
      put: async () => {},
      get: async () => Promise.reject(new Error('AccessDenied')),
    };
    await expect(offloaderFor('run-1', broken).resolve(ref)).rejects.toThrow(
      /could not be read: Error: AccessDenied/,
    );

    // A throttle or a 5xx is the bucket's moment, not a lost payload: retryable as it came, for the step's Retry.
    const throttled: PayloadStore = {
      put: async () => {},
      get: async () => Promise.reject(new StoreThrottledError('S3 GetObject: SlowDown')),
    };
    const failure = await offloaderFor('run-1', throttled)
      .resolve(ref)
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(StoreThrottledError);
    expect((failure as StoreThrottledError).retryable).toBe(true);

    // Another run's reference is not read from this run.
    await expect(offloaderFor('run-2', store).resolve(ref)).rejects.toThrow(/not under run run-2/);
    // Without a bucket a large value cannot be kept, and a reference cannot be read: both by name.
    await expect(offloaderFor('run-1', undefined, 10).offload('s', 'z'.repeat(50))).rejects.toThrow(
      /no payload bucket is configured/,
    );
    await expect(offloaderFor('run-1', undefined).resolve(ref)).rejects.toThrow(OffloadedPayloadMissingError);
  });
});
