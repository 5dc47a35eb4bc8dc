/**
 * The local stand-in for Amazon S3 Vectors: the data-plane calls the memory
 * adapter makes (GetIndex, PutVectors, GetVectors, ListVectors, DeleteVectors,
 * QueryVectors; REST-JSON `POST /<Operation>`), over indexes declared in the
 * synthesised template (`AWS::S3Vectors::Index`), kept on disk: one JSON file
 * per index, each write to a temporary file renamed over the old one, so a
 * crash leaves the index as it was before the request or after it. Exact
 * nearest neighbours (a scan), cosine or euclidean, metadata filters with
 * `$eq`, `$ne`, `$in`, `$nin`, `$exists`, `$and`, `$or`.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** An index as the template declares it. */
export interface LocalVectorIndexSpec {
  bucket: string;
  name: string;
  dimension: number;
  distanceMetric: 'cosine' | 'euclidean';
  nonFilterableKeys: string[];
}

interface StoredVector {
  data: number[];
  metadata?: Record<string, unknown>;
}

interface IndexFile {
  spec: LocalVectorIndexSpec;
  vectors: Record<string, StoredVector>;
}

/** An S3 Vectors error as the SDK reads it. */
export class S3VectorsLocalError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The ARN of a local vector bucket. */
export const localVectorBucketArn = (bucket: string, region: string, account: string): string =>
  `arn:aws:s3vectors:${region}:${account}:bucket/${bucket}`;

/** The local name of a vector bucket resource: its `VectorBucketName`, else its logical id lower-cased. */
export function localVectorBucketName(logicalId: string, props: Record<string, unknown> | undefined): string {
  const n = props?.VectorBucketName;
  return typeof n === 'string'
    ? n
    : logicalId
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')
        .slice(0, 63);
}

/** The vector indexes a template declares (literal properties, the bucket by its GetAtt or Ref). */
export function vectorIndexesOf(template: {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}): LocalVectorIndexSpec[] {
  const specs: LocalVectorIndexSpec[] = [];
  for (const res of Object.values(template.Resources)) {
    if (res.Type !== 'AWS::S3Vectors::Index') continue;
    const p = res.Properties ?? {};
    const ref = p.VectorBucketArn ?? p.VectorBucketName;
    let bucketId: string | undefined;
    if (typeof ref === 'string') bucketId = ref;
    else if (typeof ref === 'object' && ref !== null) {
      const att = Reflect.get(ref, 'Fn::GetAtt') ?? Reflect.get(ref, 'Ref');
      bucketId = Array.isArray(att) ? String(att[0]) : typeof att === 'string' ? att : undefined;
    }
    const bucketRes = bucketId ? template.Resources[bucketId] : undefined;
    if (!bucketId || typeof p.IndexName !== 'string' || typeof p.Dimension !== 'number') continue;
    const meta = p.MetadataConfiguration as { NonFilterableMetadataKeys?: unknown } | undefined;
    specs.push({
      bucket: bucketRes ? localVectorBucketName(bucketId, bucketRes.Properties) : bucketId,
      name: p.IndexName,
      dimension: p.Dimension,
      distanceMetric: p.DistanceMetric === 'euclidean' ? 'euclidean' : 'cosine',
      nonFilterableKeys: Array.isArray(meta?.NonFilterableMetadataKeys)
        ? meta.NonFilterableMetadataKeys.map(String)
        : [],
    });
  }
  return specs;
}

const OPERATIONS = [
  'GetIndex',
  'PutVectors',
  'GetVectors',
  'ListVectors',
  'DeleteVectors',
  'QueryVectors',
] as const;

/** The on-disk store. */
export class LocalVectorStore {
  private readonly cache = new Map<string, IndexFile>();

  constructor(
    private readonly dir: string,
    private readonly specs: readonly LocalVectorIndexSpec[],
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // The CLI reads this to find the indexes of the running stack.
    writeFileSync(join(dir, 'indexes.json'), `${JSON.stringify(specs, null, 2)}\n`, { mode: 0o600 });
  }

  /** Whether a request path is one of the served operations. */
  static serves(path: string): boolean {
    return (OPERATIONS as readonly string[]).includes(path.slice(1));
  }

  /** Answers one operation; throws `S3VectorsLocalError` as S3 Vectors would answer. */
  handle(operation: string, body: Record<string, unknown>): Record<string, unknown> {
    const index = this.load(body);
    switch (operation) {
      case 'GetIndex':
        return {
          index: {
            vectorBucketName: index.spec.bucket,
            indexName: index.spec.name,
            indexArn: `${localVectorBucketArn(index.spec.bucket, 'us-east-1', '000000000000')}/index/${index.spec.name}`,
            creationTime: 0,
            dataType: 'float32',
            dimension: index.spec.dimension,
            distanceMetric: index.spec.distanceMetric,
            metadataConfiguration: { nonFilterableMetadataKeys: index.spec.nonFilterableKeys },
          },
        };
      case 'PutVectors': {
        const vectors = body.vectors;
        if (!Array.isArray(vectors) || vectors.length === 0 || vectors.length > 500)
          throw invalid('vectors must hold 1 to 500 vectors');
        const next = { ...index.vectors };
        for (const v of vectors) {
          const key = Reflect.get(v, 'key');
          const data = Reflect.get(Reflect.get(v, 'data') ?? {}, 'float32');
          if (typeof key !== 'string' || key.length === 0 || key.length > 1024)
            throw invalid('each vector needs a key of 1 to 1024 characters');
          if (!Array.isArray(data) || !data.every((x) => typeof x === 'number' && Number.isFinite(x)))
            throw invalid(`vector ${key}: data.float32 must be finite numbers`);
          if (data.length !== index.spec.dimension)
            throw invalid(
              `vector ${key} has dimension ${data.length}, the index has ${index.spec.dimension}`,
            );
          const metadata = Reflect.get(v, 'metadata');
          if (
            metadata !== undefined &&
            (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))
          )
            throw invalid(`vector ${key}: metadata must be an object`);
          if (metadata !== undefined && JSON.stringify(metadata).length > 40_960)
            throw invalid(`vector ${key}: metadata is over 40 KB`);
          next[key] = { data, ...(metadata ? { metadata } : {}) };
        }
        this.save({ ...index, vectors: next });
        return {};
      }
      case 'GetVectors': {
        const keys = stringList(body.keys, 'keys');
        return {
          vectors: keys.flatMap((key) => {
            const v = index.vectors[key];
            if (!v) return [];
            return [
              {
                key,
                ...(body.returnData ? { data: { float32: v.data } } : {}),
                ...(body.returnMetadata && v.metadata ? { metadata: v.metadata } : {}),
              },
            ];
          }),
        };
      }
      case 'ListVectors': {
        const max = typeof body.maxResults === 'number' ? Math.min(1000, Math.max(1, body.maxResults)) : 500;
        const start = typeof body.nextToken === 'string' ? Number(body.nextToken) : 0;
        if (!Number.isInteger(start) || start < 0) throw invalid('nextToken is not one this server gave');
        const keys = Object.keys(index.vectors).sort();
        const page = keys.slice(start, start + max);
        return {
          vectors: page.map((key) => {
            const v = index.vectors[key] as StoredVector;
            return {
              key,
              ...(body.returnData ? { data: { float32: v.data } } : {}),
              ...(body.returnMetadata && v.metadata ? { metadata: v.metadata } : {}),
            };
          }),
          ...(start + max < keys.length ? { nextToken: String(start + max) } : {}),
        };
      }
      case 'DeleteVectors': {
        const keys = stringList(body.keys, 'keys');
        const next = { ...index.vectors };
        for (const key of keys) delete next[key];
        this.save({ ...index, vectors: next });
        return {};
      }
      case 'QueryVectors': {
        const topK = body.topK;
        if (typeof topK !== 'number' || !Number.isInteger(topK) || topK < 1 || topK > 100)
          throw invalid('topK must be an integer in [1, 100]');
        const q = Reflect.get(body.queryVector ?? {}, 'float32');
        if (!Array.isArray(q) || !q.every((x) => typeof x === 'number'))
          throw invalid('queryVector.float32 must be numbers');
        if (q.length !== index.spec.dimension)
          throw invalid(`the query vector has dimension ${q.length}, the index has ${index.spec.dimension}`);
        const filter = body.filter;
        const matches = Object.entries(index.vectors)
          .filter(
            ([, v]) =>
              filter === undefined || matchesFilter(v.metadata ?? {}, filter, index.spec.nonFilterableKeys),
          )
          .map(([key, v]) => ({ key, v, distance: distance(index.spec.distanceMetric, q, v.data) }))
          .sort((a, b) => a.distance - b.distance || a.key.localeCompare(b.key))
          .slice(0, topK);
        return {
          vectors: matches.map((m) => ({
            key: m.key,
            ...(body.returnDistance ? { distance: m.distance } : {}),
            ...(body.returnMetadata && m.v.metadata ? { metadata: m.v.metadata } : {}),
          })),
          distanceMetric: index.spec.distanceMetric,
        };
      }
      default:
        throw new S3VectorsLocalError(400, 'ValidationException', `${operation} is not served locally`);
    }
  }

  private load(body: Record<string, unknown>): IndexFile {
    const { bucket, name } = indexOf(body);
    const spec = this.specs.find((s) => s.bucket === bucket && s.name === name);
    if (!spec)
      throw new S3VectorsLocalError(
        404,
        'NotFoundException',
        `The specified index could not be found: ${bucket}/${name}`,
      );
    const id = `${bucket}/${name}`;
    const cached = this.cache.get(id);
    if (cached) return cached;
    const file = this.file(spec);
    let loaded: IndexFile = { spec, vectors: {} };
    if (existsSync(file)) {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as IndexFile;
      // An index redeclared with another dimension starts empty, as a replaced AWS index would.
      if (parsed.spec?.dimension === spec.dimension) loaded = { spec, vectors: parsed.vectors ?? {} };
    }
    this.cache.set(id, loaded);
    return loaded;
  }

  private save(index: IndexFile): void {
    const file = this.file(index.spec);
    mkdirSync(join(this.dir, index.spec.bucket), { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(index), { mode: 0o600 });
    renameSync(tmp, file);
    this.cache.set(`${index.spec.bucket}/${index.spec.name}`, index);
  }

  private file(spec: LocalVectorIndexSpec): string {
    return join(this.dir, spec.bucket, `${spec.name}.json`);
  }
}

function indexOf(body: Record<string, unknown>): { bucket: string; name: string } {
  if (typeof body.indexArn === 'string') {
    const m = /^arn:aws[a-z-]*:s3vectors:[^:]*:[^:]*:bucket\/([^/]+)\/index\/([^/]+)$/.exec(body.indexArn);
    if (!m?.[1] || !m[2]) throw invalid(`indexArn ${body.indexArn} is not an S3 Vectors index ARN`);
    return { bucket: m[1], name: m[2] };
  }
  if (typeof body.vectorBucketName === 'string' && typeof body.indexName === 'string')
    return { bucket: body.vectorBucketName, name: body.indexName };
  throw invalid('name the index by indexArn, or by vectorBucketName and indexName');
}

function stringList(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string') || v.length > 500)
    throw invalid(`${what} must be up to 500 strings`);
  return v;
}

const invalid = (message: string) => new S3VectorsLocalError(400, 'ValidationException', message);

function distance(metric: 'cosine' | 'euclidean', a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  let sq = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    dot += x * y;
    na += x * x;
    nb += y * y;
    sq += (x - y) * (x - y);
  }
  if (metric === 'euclidean') return Math.sqrt(sq);
  return na === 0 || nb === 0 ? 1 : 1 - dot / Math.sqrt(na * nb);
}

/** S3 Vectors metadata filtering; a filter on a non-filterable key is refused. */
export function matchesFilter(
  meta: Record<string, unknown>,
  filter: unknown,
  nonFilterable: readonly string[],
): boolean {
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter))
    throw invalid('filter must be an object');
  return Object.entries(filter).every(([k, cond]) => {
    if (k === '$and' || k === '$or') {
      if (!Array.isArray(cond)) throw invalid(`${k} takes an array of filters`);
      const results = cond.map((f) => matchesFilter(meta, f, nonFilterable));
      return k === '$and' ? results.every(Boolean) : results.some(Boolean);
    }
    if (nonFilterable.includes(k)) throw invalid(`metadata key ${k} is not filterable`);
    const value = meta[k];
    if (typeof cond !== 'object' || cond === null || Array.isArray(cond)) return value === cond;
    return Object.entries(cond).every(([op, arg]) => {
      switch (op) {
        case '$eq':
          return value === arg;
        case '$ne':
          return value !== arg;
        case '$in':
          return Array.isArray(arg) && arg.includes(value);
        case '$nin':
          return Array.isArray(arg) && !arg.includes(value);
        case '$exists':
          return (value !== undefined) === Boolean(arg);
        default:
          throw invalid(`filter operator ${op} is not supported`);
      }
    });
  });
}
