/**
 * An adapter loaded and built on first use, for the lifetime of the
 * container: `load` runs once, on the first call, and its result is kept. A
 * `load` that fails is forgotten, so the next call tries again (as
 * `lazily` in `config.ts` does for a build that throws).
 *
 * The wire modules pass an `import()` of the adapter module here instead of
 * importing it statically: in a bundle (code splitting, see
 * `HANDLER_BUNDLING`) the adapter and its AWS SDK client are then a chunk
 * that loads on the first call that needs them, not at every cold start.
 */
export function onFirstUse<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    if (!loaded) {
      const attempt = load();
      loaded = attempt;
      attempt.catch(() => {
        if (loaded === attempt) loaded = undefined;
      });
    }
    return loaded;
  };
}
