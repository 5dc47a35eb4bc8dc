import { ChaperoneError } from '../errors.js';

/** A knowledge document that cannot be read as text (bad UTF-8, bad JSON, an unknown kind, no text). Terminal. */
export class KnowledgeDocumentError extends ChaperoneError {
  override readonly name = 'KnowledgeDocumentError';
  readonly retryable = false;
  constructor(
    /** The document's path as given to ingest. */
    readonly document: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${document}: ${message}`, options);
  }
}

/** An embedding whose size is not the index's. Terminal: nothing was written. */
export class EmbeddingDimensionError extends ChaperoneError {
  override readonly name = 'EmbeddingDimensionError';
  readonly retryable = false;
  constructor(
    readonly expected: number,
    readonly actual: number,
    where: string,
  ) {
    super(`${where}: the embedding has ${actual} dimensions, the index holds ${expected}`);
  }
}

/** The embeddings endpoint or the vector index throttled or failed (5xx, timeout, connection). Retryable. */
export class MemoryUnavailableError extends ChaperoneError {
  override readonly name = 'MemoryUnavailableError';
  readonly retryable = true;
}

/** The embeddings endpoint or the vector index refused the request (4xx, missing index). Terminal. */
export class MemoryRequestError extends ChaperoneError {
  override readonly name = 'MemoryRequestError';
  readonly retryable = false;
}
