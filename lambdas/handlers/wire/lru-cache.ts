/**
 * A least-recently-used cache with mnemonist's `LRUCache` interface (the part
 * `@aws-sdk/endpoint-cache` uses: `get`, `set`, `has`, `peek`, `clear`,
 * `size`), on a `Map` (which keeps insertion order, so its first key is the
 * least recently used). The bundles alias `mnemonist/lru-cache` to it
 * (`HANDLER_ALIASES`): mnemonist's typed-array implementation is ~7 KB of
 * every function that builds a DynamoDB client, where it backs endpoint
 * discovery's cache (off unless enabled).
 */
export default class LRUCache<K, V> {
  readonly #capacity: number;
  readonly #items = new Map<K, V>();

  constructor(capacity: number) {
    if (!(capacity > 0)) throw new Error(`LRUCache: capacity must be a positive number, got ${capacity}`);
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#items.size;
  }

  /** The value, made the most recently used. */
  get(key: K): V | undefined {
    if (!this.#items.has(key)) return undefined;
    const value = this.#items.get(key) as V;
    this.#items.delete(key);
    this.#items.set(key, value);
    return value;
  }

  /** The value, its recency unchanged. */
  peek(key: K): V | undefined {
    return this.#items.get(key);
  }

  has(key: K): boolean {
    return this.#items.has(key);
  }

  /** Store as the most recently used; the least recently used goes when full. */
  set(key: K, value: V): this {
    this.#items.delete(key);
    this.#items.set(key, value);
    if (this.#items.size > this.#capacity) {
      const oldest = this.#items.keys().next();
      if (!oldest.done) this.#items.delete(oldest.value);
    }
    return this;
  }

  clear(): void {
    this.#items.clear();
  }
}
