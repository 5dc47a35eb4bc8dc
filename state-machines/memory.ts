import { WorkflowDefinitionError } from './errors.js';

/** Embedding sizes Amazon Titan Text Embeddings V2 produces. */
export const EMBEDDING_DIMENSIONS = [256, 512, 1024] as const;
export type EmbeddingDimension = (typeof EMBEDDING_DIMENSIONS)[number];

/** The Bedrock embeddings model every knowledge source and episodic memory uses. */
export const EMBEDDING_MODEL_ID = 'amazon.titan-text-embeddings-v2';
/** Its Bedrock model id as InvokeModel names it. */
export const TITAN_EMBED_V2 = 'amazon.titan-embed-text-v2:0';

/**
 * A knowledge source: documents chunked, embedded and indexed ahead of time
 * (`npx chaperone knowledge ingest <dir> --source <name>`), one S3 Vectors
 * index each (an on-disk store behind the same API locally).
 */
export interface KnowledgeSource {
  readonly kind: 'knowledge';
  /** `^[a-z0-9][a-z0-9-]{1,40}[a-z0-9]$`: the index's name. */
  readonly name: string;
  readonly description: string;
  /** Vector size of the index. */
  readonly dimension: EmbeddingDimension;
  /** Longest chunk in characters; a paragraph longer than this is split at sentences. */
  readonly maxChunkChars: number;
}

export interface KnowledgeSourceOptions {
  name: string;
  description?: string;
  /** @default 1024 */
  dimension?: EmbeddingDimension;
  /** @default 1200 */
  maxChunkChars?: number;
}

const SOURCE_NAME = /^[a-z0-9][a-z0-9-]{1,40}[a-z0-9]$/;

/** Declare a knowledge source. Throws `WorkflowDefinitionError` for one that cannot work. */
export function defineKnowledge(options: KnowledgeSourceOptions): KnowledgeSource {
  const subject = `knowledge source "${options.name}"`;
  if (!SOURCE_NAME.test(options.name))
    throw new WorkflowDefinitionError(
      subject,
      'name must match ^[a-z0-9][a-z0-9-]{1,40}[a-z0-9]$ (it names an S3 Vectors index)',
    );
  const dimension = options.dimension ?? 1024;
  if (!EMBEDDING_DIMENSIONS.includes(dimension))
    throw new WorkflowDefinitionError(
      subject,
      `dimension must be one of ${EMBEDDING_DIMENSIONS.join(', ')}, got ${String(dimension)}`,
    );
  const maxChunkChars = options.maxChunkChars ?? 1200;
  if (!Number.isInteger(maxChunkChars) || maxChunkChars < 200 || maxChunkChars > 8000)
    throw new WorkflowDefinitionError(
      subject,
      `maxChunkChars must be an integer in [200, 8000], got ${maxChunkChars}`,
    );
  return {
    kind: 'knowledge',
    name: options.name,
    description: options.description ?? '',
    dimension,
    maxChunkChars,
  };
}

/** A knowledge source attached to an agent, with its retrieval filter. */
export interface AgentKnowledge {
  readonly source: KnowledgeSource;
  /** At most this many chunks are retrieved per step. */
  readonly topK: number;
  /** Chunks scoring below this (cosine similarity, 0..1) never reach the context. */
  readonly minScore: number;
}

export interface AgentKnowledgeOptions {
  source: KnowledgeSource;
  /** @default 5 */
  topK?: number;
  /** @default 0.35 */
  minScore?: number;
}

/** Episodic memory of a workflow: past runs of the same workflow and tenant as examples. */
export interface EpisodicMemory {
  /** At most this many past runs reach a new run's context. */
  readonly examples: number;
  /** Past runs less similar than this (cosine similarity of their inputs, 0..1) are not used. */
  readonly minScore: number;
  /** Outcomes a past run must have had to become an example. */
  readonly outcomes: readonly ('SUCCEEDED' | 'STOPPED' | 'FAILED' | 'REJECTED')[];
}

export interface EpisodicMemoryOptions {
  /** @default 3 */
  examples?: number;
  /** @default 0.5 */
  minScore?: number;
  /** @default ['SUCCEEDED'] (rejected and failed runs are never examples unless named here) */
  outcomes?: EpisodicMemory['outcomes'];
}

export function checkAgentKnowledge(subject: string, options: AgentKnowledgeOptions): AgentKnowledge {
  if (options.source?.kind !== 'knowledge')
    throw new WorkflowDefinitionError(subject, 'knowledge.source must come from defineKnowledge()');
  const topK = options.topK ?? 5;
  if (!Number.isInteger(topK) || topK < 1 || topK > 30)
    throw new WorkflowDefinitionError(subject, `knowledge.topK must be an integer in [1, 30], got ${topK}`);
  const minScore = options.minScore ?? 0.35;
  if (!(minScore >= 0 && minScore < 1))
    throw new WorkflowDefinitionError(subject, `knowledge.minScore must be in [0, 1), got ${minScore}`);
  return { source: options.source, topK, minScore };
}

export function checkEpisodicMemory(subject: string, options: EpisodicMemoryOptions): EpisodicMemory {
  const examples = options.examples ?? 3;
  if (!Number.isInteger(examples) || examples < 1 || examples > 10)
    throw new WorkflowDefinitionError(
      subject,
      `memory.examples must be an integer in [1, 10], got ${examples}`,
    );
  const minScore = options.minScore ?? 0.5;
  if (!(minScore >= 0 && minScore < 1))
    throw new WorkflowDefinitionError(subject, `memory.minScore must be in [0, 1), got ${minScore}`);
  const outcomes = options.outcomes ?? ['SUCCEEDED'];
  if (outcomes.length === 0)
    throw new WorkflowDefinitionError(subject, 'memory.outcomes names no outcome: drop memory instead');
  return { examples, minScore, outcomes };
}
