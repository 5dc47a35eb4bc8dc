/**
 * What memory needs from the outside world: an embeddings endpoint (Bedrock
 * Titan Text Embeddings V2 in AWS, its local stand-in through the same SDK),
 * a vector index (Amazon S3 Vectors, an on-disk store behind the same API
 * locally) and a store of episodes (DynamoDB).
 */
import type { Json } from '../model.js';

/** Turns text into unit vectors. */
export interface Embedder {
  /** One vector per text, in order, each `dimension` long and of length 1. */
  embed(texts: readonly string[], dimension: number): Promise<number[][]>;
}

/** One chunk as it is indexed. */
export interface IndexedChunk {
  /** Stable within a source: `<document>#<n>`. */
  id: string;
  document: string;
  text: string;
  vector: number[];
}

/** A chunk the index returned for a query, with its cosine similarity (1 = same direction). */
export interface ScoredChunk {
  id: string;
  document: string;
  text: string;
  score: number;
}

/** One knowledge source's vector index. */
export interface VectorIndex {
  /** The index's vector size. Throws `MemoryRequestError` if the index does not exist. */
  dimension(source: string): Promise<number>;
  /**
   * Replace everything the source holds with `chunks`, atomically for readers:
   * a query sees the old set or the new one, never a mix, and an ingest that
   * dies part-way leaves the old set served.
   */
  replaceAll(source: string, chunks: readonly IndexedChunk[]): Promise<{ generation: string }>;
  /** The `topK` nearest chunks of the current set, best first. */
  query(source: string, vector: readonly number[], topK: number): Promise<ScoredChunk[]>;
}

/** What a finished run leaves for later runs of its workflow and tenant. */
export interface Episode {
  runId: string;
  workflow: string;
  /** `''` for runs without a tenant: they only ever meet each other. */
  tenant: string;
  input: Json;
  outcome: string;
  /** The decisions and tool calls that mattered, as short lines. */
  decisions: string[];
  /** Approvals and rejections, with who and why. */
  approvals: string[];
  answer?: string;
  stopReason?: string;
  costUsd: number;
  tokens: number;
  finishedAt: string;
  /** The input's embedding: what similarity is measured on. */
  vector: number[];
  /** False when the author marked the run as not-an-example. */
  example: boolean;
}

/** Episodes by workflow and tenant. Nothing here reads across tenants. */
export interface EpisodeStore {
  /** Writes the run's episode once (a repeat changes nothing). */
  put(episode: Episode): Promise<void>;
  /** The newest `limit` episodes of this workflow and tenant, newest first. */
  list(workflow: string, tenant: string, limit: number): Promise<Episode[]>;
  get(workflow: string, tenant: string, runId: string): Promise<Episode | undefined>;
  /** Deletes the run's episode (the right to be forgotten); false if there was none. */
  delete(workflow: string, tenant: string, runId: string): Promise<boolean>;
  /** Marks whether the run may be an example; false if there is no such episode. */
  setExample(workflow: string, tenant: string, runId: string, example: boolean): Promise<boolean>;
}
