/**
 * `chaperone knowledge ingest <dir> --source <name>`: chunk, embed and index
 * a folder's documents (.md, .markdown, .txt, .json) as the whole content of
 * one knowledge source. Against the local stack running on `--data-dir` (its
 * S3 Vectors and Titan stand-ins, signed with the data dir's key pair), or
 * with `--vector-bucket <arn>` against the stack in AWS (the
 * `KnowledgeVectorBucketArn` output; the SDK's credentials and Region, which
 * need `s3vectors:*Vectors`/`GetIndex` on the index and `bedrock:InvokeModel`
 * on Titan Text Embeddings V2). The same code path either way: every document
 * is parsed and embedded before anything is written, and the new set replaces
 * the old one atomically.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createBedrockEmbedder } from '../../lambdas/adapters/memory-bedrock-embedder.js';
import { createS3VectorsIndex } from '../../lambdas/adapters/memory-s3vectors-index.js';
import { ChaperoneError } from '../../lambdas/core/errors.js';
import { DOCUMENT_EXTENSIONS, type KnowledgeDocument } from '../../lambdas/core/memory/chunking.js';
import { ingestKnowledge } from '../../lambdas/core/memory/ingest.js';
import { defineKnowledge, type EmbeddingDimension } from '../../state-machines/memory.js';
import { dataDirCredentials, LOCAL_REGION } from '../aws/local-credentials.js';
import { type LocalVectorIndexSpec, localVectorBucketArn } from '../memory/s3vectors-store.js';
import { readRunningStack } from '../runtime/running-stack.js';

export const KNOWLEDGE_USAGE = `Usage: chaperone knowledge ingest <dir> --source <name> [--max-chunk-chars <n>]
                          [--data-dir <dir>] | [--vector-bucket <arn> [--region <region>]]`;

/** The documents under `dir` (recursively), and the files skipped for their kind. */
export function readKnowledgeDir(dir: string): { documents: KnowledgeDocument[]; skipped: string[] } {
  const documents: KnowledgeDocument[] = [];
  const skipped: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith('.')) continue;
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (DOCUMENT_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e)))
        documents.push({ path: relative(dir, path), bytes: new Uint8Array(readFileSync(path)) });
      else skipped.push(relative(dir, path));
    }
  };
  walk(dir);
  return { documents, skipped };
}

/** Runs `knowledge …`; returns the exit code. */
export async function knowledgeCommand(
  argv: readonly string[],
  io: { write: (line: string) => void; env: Record<string, string | undefined> },
): Promise<number> {
  const rest = [...argv];
  const flag = (name: string): string | undefined => {
    const i = rest.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = rest[i + 1];
    rest.splice(i, 2);
    return v;
  };
  const source = flag('source');
  const bucketFlag = flag('vector-bucket');
  const regionFlag = flag('region');
  const maxChunk = flag('max-chunk-chars');
  const args = { dataDir: resolve(flag('data-dir') ?? '.chaperone'), command: rest[0], target: rest[1] };
  if (args.command !== 'ingest' || !args.target || !source) {
    io.write(KNOWLEDGE_USAGE);
    return 2;
  }
  const dir = resolve(args.target);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    io.write(`${dir} is not a folder`);
    return 2;
  }
  let target: {
    vectorBucketArn: string;
    region: string;
    endpoint?: string;
    credentials?: { accessKeyId: string; secretAccessKey: string };
    where: string;
  };
  if (bucketFlag) {
    const region =
      regionFlag ?? /^arn:aws[a-z-]*:s3vectors:([^:]+):/.exec(bucketFlag)?.[1] ?? io.env.AWS_REGION;
    if (!region) {
      io.write('no Region: pass --region, or a vector bucket ARN');
      return 2;
    }
    target = { vectorBucketArn: bucketFlag, region, where: `vector bucket ${bucketFlag}` };
  } else {
    const running = readRunningStack(args.dataDir);
    if (!running) {
      io.write(
        `no local stack running on ${args.dataDir}: start one with npm start -- --serve (or chaperone dev), or pass --vector-bucket <arn> for the stack in AWS`,
      );
      return 1;
    }
    const specsFile = join(args.dataDir, 'vectors', 'indexes.json');
    const specs = existsSync(specsFile)
      ? (JSON.parse(readFileSync(specsFile, 'utf8')) as LocalVectorIndexSpec[])
      : [];
    const spec = specs.find((s) => s.name === source);
    if (!spec) {
      io.write(
        `the local stack has no knowledge source "${source}" (it has: ${specs.map((s) => s.name).join(', ') || 'none'}); attach it to an agent with knowledge: { source: defineKnowledge({ name: '${source}' }) }`,
      );
      return 1;
    }
    target = {
      vectorBucketArn: localVectorBucketArn(spec.bucket, LOCAL_REGION, '000000000000'),
      region: LOCAL_REGION,
      endpoint: running.servicesUrl,
      credentials: dataDirCredentials(args.dataDir),
      where: `the local stack in ${args.dataDir}`,
    };
  }
  const { vectorBucketArn, region, endpoint, credentials } = target;
  const common = { region, ...(endpoint ? { endpoint } : {}), ...(credentials ? { credentials } : {}) };
  const index = createS3VectorsIndex({ vectorBucketArn, ...common });
  const { documents, skipped } = readKnowledgeDir(dir);
  try {
    const dimension = (await index.dimension(source)) as EmbeddingDimension;
    const knowledge = defineKnowledge({
      name: source,
      dimension,
      ...(maxChunk ? { maxChunkChars: Number(maxChunk) } : {}),
    });
    const report = await ingestKnowledge(knowledge, documents, {
      embedder: createBedrockEmbedder(common),
      index,
    });
    for (const s of skipped) io.write(`skipped ${s} (not ${DOCUMENT_EXTENSIONS.join(', ')})`);
    io.write(
      `ingested ${report.documents} documents as ${report.chunks} chunks into "${source}" (${report.dimension} dimensions, generation ${report.generation}) in ${target.where}`,
    );
    return 0;
  } catch (err) {
    if (!(err instanceof ChaperoneError) && !(err instanceof Error && err.name === 'WorkflowDefinitionError'))
      throw err;
    io.write(`${err.name}: ${err.message} — nothing was changed`);
    return 1;
  }
}
