import { CfnOutput, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3vectors from 'aws-cdk-lib/aws-s3vectors';
import { Construct } from 'constructs';
import { type KnowledgeSource, TITAN_EMBED_V2 } from '../../state-machines/memory.js';
import { knowledgeSourcesOf, type Workflow } from '../../state-machines/workflow.js';
import type { AgentFunction } from './agent-function.js';
import { ChaperoneTable, type ChaperoneTableProps } from './chaperone-table.js';

/** Metadata keys stored with each chunk but not filterable (S3 Vectors caps filterable metadata at 2 KB). */
const NON_FILTERABLE_KEYS = ['text', 'document'];

/**
 * The Memory table: episodic records of finished runs,
 * `EPI#<workflow>#<tenant> / RUN#<runId>`. Kept when the stack is deleted by
 * default, as the runs are; a record is deleted on request (the right to be
 * forgotten) with `chaperone memory forget`.
 */
export class MemoryTable extends ChaperoneTable {
  constructor(scope: Construct, id: string, props: ChaperoneTableProps = {}) {
    super(scope, id, {
      role: 'memory',
      sortKey: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** Write a finished run's episode (the finish function). */
  public grantRecord(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadWriteData(grantee);
  }

  /** Delete an episode and mark it (not) an example (the api function). */
  public grantForget(grantee: iam.IGrantable): iam.Grant {
    return this.table.grant(grantee, 'dynamodb:GetItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem');
  }

  /** Read episodes as examples (the agent step). */
  public grantRecall(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadData(grantee);
  }
}

export interface KnowledgeIndexesProps {
  /** Every knowledge source some agent uses: one index each. */
  readonly sources: readonly KnowledgeSource[];
}

/**
 * The knowledge indexes: one S3 Vectors vector bucket with one index per
 * knowledge source (float32, cosine, the source's dimension; chunk text and
 * document stored as non-filterable metadata). Filled ahead of time by
 * `npx chaperone knowledge ingest <dir> --source <name> --vector-bucket <arn>`.
 */
export class KnowledgeIndexes extends Construct {
  public readonly bucket: s3vectors.CfnVectorBucket;
  public readonly indexes: ReadonlyMap<string, s3vectors.CfnIndex>;

  constructor(scope: Construct, id: string, props: KnowledgeIndexesProps) {
    super(scope, id);
    // SSE-S3 is S3 Vectors' default encryption; stated so the template says it.
    this.bucket = new s3vectors.CfnVectorBucket(this, 'Bucket', {
      encryptionConfiguration: { sseType: 'AES256' },
    });
    const indexes = new Map<string, s3vectors.CfnIndex>();
    for (const source of props.sources) {
      const index = new s3vectors.CfnIndex(this, `Index-${source.name}`, {
        vectorBucketArn: this.bucket.attrVectorBucketArn,
        indexName: source.name,
        dataType: 'float32',
        dimension: source.dimension,
        distanceMetric: 'cosine',
        metadataConfiguration: { nonFilterableMetadataKeys: NON_FILTERABLE_KEYS },
      });
      indexes.set(source.name, index);
    }
    this.indexes = indexes;
  }

  /** The vector bucket's ARN (the functions' `CHAPERONE_VECTOR_BUCKET_ARN`). */
  public get vectorBucketArn(): string {
    return this.bucket.attrVectorBucketArn;
  }

  /** Query the indexes (the agent step): GetIndex, GetVectors (the published generation), QueryVectors. */
  public grantQuery(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['s3vectors:GetIndex', 's3vectors:GetVectors', 's3vectors:QueryVectors'],
      resourceArns: [...this.indexes.values()].map((i) => i.attrIndexArn),
    });
  }

  /** Replace an index's content (whoever runs ingest). */
  public grantIngest(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: [
        's3vectors:GetIndex',
        's3vectors:GetVectors',
        's3vectors:QueryVectors',
        's3vectors:PutVectors',
        's3vectors:ListVectors',
        's3vectors:DeleteVectors',
      ],
      resourceArns: [...this.indexes.values()].map((i) => i.attrIndexArn),
    });
  }
}

/** `bedrock:InvokeModel` on the Titan Text Embeddings V2 foundation model in the stack's Region, nothing else. */
export function grantEmbeddings(grantee: iam.IGrantable, scope: Construct): iam.Grant {
  const stack = Stack.of(scope);
  return iam.Grant.addToPrincipal({
    grantee,
    actions: ['bedrock:InvokeModel'],
    resourceArns: [`arn:${stack.partition}:bedrock:${stack.region}::foundation-model/${TITAN_EMBED_V2}`],
  });
}

export interface ChaperoneMemoryProps {
  readonly workflows: readonly Workflow[];
  /** Retrieves knowledge and recalls episodes at a step's start. */
  readonly agentStep: AgentFunction;
  /** Records a finished run's episode. */
  readonly finish: AgentFunction;
  /** Forgets an episode and marks runs as not-an-example (`/runs/{id}/memory`). */
  readonly api: AgentFunction;
}

/**
 * Memory for the workflows that use it, and nothing for those that do not:
 * the knowledge indexes when some agent has a knowledge source, the Memory
 * table when some workflow declares episodic memory, Titan embeddings for
 * both; each function gets exactly its grants and its environment.
 */
export class ChaperoneMemory extends Construct {
  public readonly knowledge: KnowledgeIndexes | undefined;
  public readonly table: MemoryTable | undefined;

  constructor(scope: Construct, id: string, props: ChaperoneMemoryProps) {
    super(scope, id);
    const sources = [...knowledgeSourcesOf(props.workflows).values()];
    const episodic = props.workflows.some((w) => w.memory !== undefined);
    this.knowledge = sources.length > 0 ? new KnowledgeIndexes(this, 'Knowledge', { sources }) : undefined;
    this.table = episodic ? new MemoryTable(this, 'Episodes') : undefined;
    if (this.knowledge) {
      props.agentStep.addEnvironment('CHAPERONE_VECTOR_BUCKET_ARN', this.knowledge.vectorBucketArn);
      this.knowledge.grantQuery(props.agentStep);
    }
    if (this.table) {
      for (const fn of [props.agentStep, props.finish])
        fn.addEnvironment('MEMORY_TABLE', this.table.tableName);
      this.table.grantRecall(props.agentStep);
      this.table.grantRecord(props.finish);
    }
    if (this.knowledge || this.table) grantEmbeddings(props.agentStep, this);
    if (this.table) grantEmbeddings(props.finish, this);
    if (this.knowledge)
      new CfnOutput(this, 'KnowledgeVectorBucketArn', {
        value: this.knowledge.vectorBucketArn,
        description: 'npx chaperone knowledge ingest <dir> --source <name> --vector-bucket <this>',
      });
  }
}
