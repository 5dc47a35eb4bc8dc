import type {
  BatchGetCommandInput,
  BatchGetCommandOutput,
  DeleteCommandInput,
  DeleteCommandOutput,
  GetCommandInput,
  GetCommandOutput,
  PutCommandInput,
  PutCommandOutput,
  QueryCommandInput,
  QueryCommandOutput,
  ScanCommandInput,
  ScanCommandOutput,
  TransactGetCommandInput,
  TransactGetCommandOutput,
  TransactWriteCommandInput,
  TransactWriteCommandOutput,
  UpdateCommandInput,
  UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { AwsJsonProtocol, type AwsMetadata, AwsServiceError } from './aws-json.js';
import { type AwsRequester, type AwsResponse, AwsTransportError, serviceErrorName } from './aws-request.js';
import { marshallValue, unmarshallItem } from './dynamo-marshal.js';

/**
 * DynamoDB's JSON API, spoken directly: what the handlers send to their
 * tables, in the shapes of `@aws-sdk/lib-dynamodb` (plain values in, plain
 * values out, `removeUndefinedValues`), with the SDK's own error names and
 * its standard retry policy, at a fraction of its size and per-request work.
 *
 * Why not the SDK client here: `@aws-sdk/client-dynamodb` with
 * `@aws-sdk/lib-dynamodb` is ~220 KB of every bundle (more than half of a
 * cold start's code; `@smithy/core` alone is 110 KB) and most of the CPU a
 * request costs a handler (middleware stack, endpoint rules, schema serde).
 * The protocol itself is small: a signed POST with an `X-Amz-Target`, a JSON
 * body, a JSON answer. The signature is the SDK signer's to the byte
 * (`aws-sigv4.ts` and its tests), the marshalling is the SDK's
 * (`@aws-sdk/util-dynamodb`, with plain values converted on a faster path
 * that gives the same answers: `dynamo-marshal.ts`). The local runtime,
 * the CLI and the tests keep the SDK client, and every handler test runs
 * this client against the real local DynamoDB (dynalite), so both are held
 * to the same answers.
 *
 * Retries are the SDK's standard mode (`aws-json.ts`): throttles (base 500 ms) and transient
 * failures (no answer, 500/502/503/504; base 100 ms) are retried with full
 * jitter up to `maxAttempts` attempts in all, under a retry quota of 500
 * (5 per retry, 10 after a timeout, 1 back per success); anything else is
 * thrown at once. An attempt whose connection stays silent for
 * `attemptTimeoutMs` (5 s) is dropped and counts as a timeout.
 */
export class DocumentClient {
  private readonly protocol: AwsJsonProtocol;

  constructor(
    private readonly http: AwsRequester,
    private readonly options: {
      /** Attempts in all, the first included. @default 4 */
      maxAttempts?: number;
      /** An attempt whose connection is silent this long is retried as a timeout. @default 5,000 (`ATTEMPT_IDLE_TIMEOUT_MS`) */
      attemptTimeoutMs?: number;
      /** Observes every command once (after its retries), for the usage meter (`dynamo-usage.ts`). */
      hooks?: DocumentClientHooks;
    } = {},
  ) {
    this.protocol = new AwsJsonProtocol(this.http, {
      maxAttempts: options.maxAttempts ?? 4,
      ...(options.attemptTimeoutMs !== undefined ? { attemptTimeoutMs: options.attemptTimeoutMs } : {}),
      toError: serviceError,
    });
  }

  /** Send one command; its output, or the service's error with the SDK's name and fields. */
  async send<I, O>(command: DocumentCommand<I, O>): Promise<O> {
    const op = command.operation;
    const hooks = this.options.hooks;
    const prepared = hooks?.prepare?.(op, command.input) ?? command.input;
    const input = marshalInput(op, prepared);
    // A replacer makes JSON.stringify about twice as slow: only a request with bytes in it gets one.
    // Without bytes the request goes as its value (an in-process endpoint takes it unencoded): the
    // first attempt hands over `input`, a retry a fresh marshalling. A TransactGetItems stays text:
    // the meter sizes it from `input` (no answer reports its units locally), which must stay as sent.
    let handed = false;
    const body: string | (() => unknown) = holdsBytes(input)
      ? JSON.stringify(input, binaryAsBase64)
      : op === 'TransactGetItems'
        ? JSON.stringify(input)
        : () => {
            if (handed) return marshalInput(op, prepared);
            handed = true;
            return input;
          };
    let answer: Awaited<ReturnType<AwsJsonProtocol['post']>>;
    try {
      answer = await this.protocol.post(`DynamoDB_20120810.${op}`, body);
    } catch (err) {
      if (err instanceof DynamoServiceError || err instanceof AwsTransportError)
        hooks?.settled?.(op, input, undefined, err);
      throw err;
    }
    const raw =
      (answer.res.value && typeof answer.res.value === 'object'
        ? (answer.res.value as Record<string, unknown>)
        : parseBody(answer.res.body)) ?? {};
    hooks?.settled?.(op, input, raw, undefined);
    return { ...unmarshalOutput(op, raw), $metadata: answer.metadata } as O;
  }
}

/** What the usage meter sees of each command. */
export interface DocumentClientHooks {
  /** Before marshalling: may return a copy of the input with fields added (never change the caller's). */
  prepare?(operation: DynamoOperation, input: unknown): unknown;
  /** Once, after the last attempt: the marshalled input and the raw answer, or the error thrown. */
  settled?(
    operation: DynamoOperation,
    input: Record<string, unknown>,
    output: Record<string, unknown> | undefined,
    error: unknown,
  ): void;
}

/** An error DynamoDB answered, named as the SDK names it (`ConditionalCheckFailedException`, …). */
export class DynamoServiceError extends AwsServiceError {
  /** Per item of a cancelled transaction, in order (`TransactionCanceledException`). */
  readonly CancellationReasons?: Array<{ Code?: string; Message?: string; Item?: Record<string, unknown> }>;
  /** The item a failed condition saw (`ReturnValuesOnConditionCheckFailure: 'ALL_OLD'`). */
  readonly Item?: Record<string, unknown>;
  constructor(name: string, message: string, metadata: AwsMetadata, fields: Record<string, unknown>) {
    super(name, message, metadata);
    if (Array.isArray(fields.CancellationReasons))
      this.CancellationReasons = fields.CancellationReasons as DynamoServiceError['CancellationReasons'];
    if (fields.Item && typeof fields.Item === 'object') this.Item = fields.Item as Record<string, unknown>;
  }
}

/** The operations the handlers use. */
export type DynamoOperation =
  | 'GetItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'Query'
  | 'Scan'
  | 'BatchGetItem'
  | 'TransactWriteItems'
  | 'TransactGetItems';

/** One request: its operation, its input (lib-dynamodb's shape) and the output type it answers with. */
export interface DocumentCommand<I, O> {
  readonly operation: DynamoOperation;
  readonly input: I;
  /** Type only: the output this command resolves to. */
  readonly __output?: O;
}

const command = <I, O>(operation: DynamoOperation) =>
  class implements DocumentCommand<I, O> {
    readonly operation = operation;
    declare readonly __output?: O;
    constructor(readonly input: I) {}
  };

export const GetCommand = command<GetCommandInput, GetCommandOutput>('GetItem');
export const PutCommand = command<PutCommandInput, PutCommandOutput>('PutItem');
export const UpdateCommand = command<UpdateCommandInput, UpdateCommandOutput>('UpdateItem');
export const DeleteCommand = command<DeleteCommandInput, DeleteCommandOutput>('DeleteItem');
export const QueryCommand = command<QueryCommandInput, QueryCommandOutput>('Query');
export const ScanCommand = command<ScanCommandInput, ScanCommandOutput>('Scan');
export const BatchGetCommand = command<BatchGetCommandInput, BatchGetCommandOutput>('BatchGetItem');
export const TransactWriteCommand = command<TransactWriteCommandInput, TransactWriteCommandOutput>(
  'TransactWriteItems',
);
export const TransactGetCommand = command<TransactGetCommandInput, TransactGetCommandOutput>(
  'TransactGetItems',
);

function parseBody(body: Buffer): Record<string, unknown> | undefined {
  if (body.length === 0) return undefined;
  const text = body.toString('utf8');
  // Binary attributes travel as base64; the SDK hands them over as bytes. A reviver makes
  // JSON.parse several times slower, so only an answer with a `B` or `BS` key gets one (a
  // string's quotes are escaped, so `"B":` is a key; `"BOOL"` does not count).
  const parsed =
    text.includes('"B":') || text.includes('"BS":') ? JSON.parse(text, base64AsBinary) : JSON.parse(text);
  return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
}

function serviceError(res: AwsResponse, metadata: AwsMetadata): DynamoServiceError {
  let fields: Record<string, unknown> = {};
  try {
    fields = parseBody(res.body) ?? {};
  } catch {
    // Not JSON (a proxy's page): the status alone names it below.
  }
  const { name, message } = serviceErrorName(res, fields, 'DynamoDB');
  return new DynamoServiceError(name, message, metadata, fields);
}

/** True when a marshalled request carries a binary value (a `Uint8Array`) anywhere. */
function holdsBytes(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false;
  if (value instanceof Uint8Array) return true;
  if (Array.isArray(value)) {
    for (const v of value) if (holdsBytes(v)) return true;
    return false;
  }
  for (const key in value) if (holdsBytes((value as Record<string, unknown>)[key])) return true;
  return false;
}

/** JSON.stringify replacer: bytes as base64, as the JSON protocol carries them. */
function binaryAsBase64(this: unknown, key: string, value: unknown): unknown {
  const original = (this as Record<string, unknown>)[key];
  return original instanceof Uint8Array ? Buffer.from(original).toString('base64') : value;
}

/** JSON.parse reviver: `B` and `BS` values back to bytes. */
function base64AsBinary(key: string, value: unknown): unknown {
  if (key === 'B' && typeof value === 'string') return new Uint8Array(Buffer.from(value, 'base64'));
  if (key === 'BS' && Array.isArray(value))
    return value.map((v) => (typeof v === 'string' ? new Uint8Array(Buffer.from(v, 'base64')) : v));
  return value;
}

type Plain = Record<string, unknown>;
// The SDK's marshall (removeUndefinedValues) and unmarshall, faster for plain values (`dynamo-marshal.ts`).
const m = (v: unknown) => (v && typeof v === 'object' ? marshallValue(v) : v);
const u = (v: unknown) => (v && typeof v === 'object' ? unmarshallItem(v as Plain) : v);

/** The fields of one item-level request that carry values: marshalled, the rest as given. */
function marshalRequest(req: Plain): Plain {
  const out: Plain = { ...req };
  for (const field of Object.keys(out)) {
    const v = out[field];
    if (v === null || typeof v !== 'object') continue;
    if (MARSHALLED.has(field)) out[field] = m(v);
    // The caller's own objects (ExpressionAttributeNames, AttributesToGet) are copied: the request
    // may be handed to an endpoint as a value, which can change it.
    else out[field] = Array.isArray(v) ? [...v] : { ...v };
  }
  return out;
}

const MARSHALLED = new Set(['Key', 'Item', 'ExpressionAttributeValues', 'ExclusiveStartKey']);

function marshalInput(op: DynamoOperation, input: unknown): Plain {
  const plain = input as Plain;
  switch (op) {
    case 'BatchGetItem': {
      const requests = (plain.RequestItems ?? {}) as Record<string, Plain>;
      const RequestItems: Record<string, Plain> = {};
      for (const [table, r] of Object.entries(requests))
        RequestItems[table] = { ...marshalRequest(r), Keys: ((r.Keys ?? []) as unknown[]).map(m) };
      return { ...plain, RequestItems };
    }
    case 'TransactWriteItems':
    case 'TransactGetItems': {
      const items = (plain.TransactItems ?? []) as Array<Record<string, Plain>>;
      return {
        ...plain,
        TransactItems: items.map((item) =>
          Object.fromEntries(Object.entries(item).map(([kind, req]) => [kind, marshalRequest(req)])),
        ),
      };
    }
    default:
      return marshalRequest(plain);
  }
}

function unmarshalOutput(op: DynamoOperation, raw: Plain): Plain {
  const out: Plain = { ...raw };
  for (const field of ['Item', 'Attributes', 'LastEvaluatedKey'])
    if (out[field] !== undefined) out[field] = u(out[field]);
  if (Array.isArray(out.Items)) out.Items = out.Items.map(u);
  if (op === 'BatchGetItem') {
    const responses = (raw.Responses ?? {}) as Record<string, unknown[]>;
    out.Responses = Object.fromEntries(Object.entries(responses).map(([t, items]) => [t, items.map(u)]));
    const unprocessed = (raw.UnprocessedKeys ?? {}) as Record<string, Plain>;
    out.UnprocessedKeys = Object.fromEntries(
      Object.entries(unprocessed).map(([t, r]) => [t, { ...r, Keys: ((r.Keys ?? []) as unknown[]).map(u) }]),
    );
  }
  if (op === 'TransactGetItems' && Array.isArray(raw.Responses))
    out.Responses = (raw.Responses as Plain[]).map((r) => ({ ...r, ...(r.Item ? { Item: u(r.Item) } : {}) }));
  return out;
}
