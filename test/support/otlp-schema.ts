/**
 * The JSON Schema of an OTLP/JSON `ExportTraceServiceRequest`, derived from
 * the official opentelemetry-proto definitions — the `.proto` files that
 * `@opentelemetry/otlp-grpc-exporter-base@0.35.1` ships (the last release of
 * that package to carry them; opentelemetry-proto of early 2023, with
 * `scope_spans`) — parsed with protobufjs and mapped by the OTLP/JSON rules
 * (opentelemetry-proto's `docs/specification.md`, "JSON Protobuf Encoding"):
 * lowerCamelCase field names, `traceId`/`spanId`/`parentSpanId` as hex (not
 * base64), enums as integers, 64-bit integers as decimal strings or numbers,
 * at most one member of a oneof, no unknown fields.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

const PROTOS = join(
  dirname(createRequire(import.meta.url).resolve('@opentelemetry/otlp-grpc-exporter-base/package.json')),
  'build',
  'protos',
);
export const OTLP_PROTO_SOURCE =
  '@opentelemetry/otlp-grpc-exporter-base@0.35.1 build/protos (opentelemetry-proto)';
const REQUEST = 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest';

type Schema = Record<string, unknown>;

const INT64 = { anyOf: [{ type: 'string', pattern: '^-?[0-9]+$' }, { type: 'integer' }] };
const UINT64 = {
  anyOf: [
    { type: 'string', pattern: '^[0-9]+$' },
    { type: 'integer', minimum: 0 },
  ],
};
const HEX_IDS: Record<string, Schema> = {
  traceId: { type: 'string', pattern: '^[0-9a-fA-F]{32}$' },
  spanId: { type: 'string', pattern: '^[0-9a-fA-F]{16}$' },
  parentSpanId: { type: 'string', pattern: '^([0-9a-fA-F]{16})?$' },
};

function scalar(type: string): Schema | undefined {
  switch (type) {
    case 'string':
      return { type: 'string' };
    case 'bool':
      return { type: 'boolean' };
    case 'double':
    case 'float':
      return { anyOf: [{ type: 'number' }, { enum: ['NaN', 'Infinity', '-Infinity'] }] };
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return { type: 'integer', minimum: -(2 ** 31), maximum: 2 ** 31 - 1 };
    case 'uint32':
    case 'fixed32':
      return { type: 'integer', minimum: 0, maximum: 2 ** 32 - 1 };
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      return INT64;
    case 'uint64':
    case 'fixed64':
      return UINT64;
    case 'bytes':
      return { type: 'string', pattern: '^[A-Za-z0-9+/]*={0,2}$' };
    default:
      return undefined;
  }
}

const defName = (t: protobuf.ReflectionObject) => t.fullName.replace(/^\./, '');

/** The schema, with one `$defs` entry per message type reachable from the request. */
export function otlpTraceRequestSchema(): Schema {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTOS, target);
  root.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto');
  root.resolveAll();
  const defs: Record<string, Schema> = {};
  const visit = (type: protobuf.Type): void => {
    const name = defName(type);
    if (defs[name]) return;
    defs[name] = {};
    const properties: Record<string, Schema> = {};
    for (const field of type.fieldsArray) {
      let item: Schema;
      const resolved = field.resolvedType;
      if (HEX_IDS[field.name] && field.type === 'bytes') item = HEX_IDS[field.name] as Schema;
      else if (resolved instanceof protobuf.Enum)
        item = { type: 'integer', enum: Object.values(resolved.values) };
      else if (resolved instanceof protobuf.Type) {
        visit(resolved);
        item = { $ref: `#/$defs/${defName(resolved)}` };
      } else {
        const s = scalar(field.type);
        if (!s) throw new Error(`${name}.${field.name}: type ${field.type} has no OTLP/JSON mapping here`);
        item = s;
      }
      properties[field.name] = field.repeated ? { type: 'array', items: item } : item;
    }
    const exclusive = type.oneofsArray
      .map((o) => o.fieldsArray.map((f) => f.name))
      .filter((members) => members.length > 1)
      .map((members) => ({
        not: { anyOf: members.flatMap((a, i) => members.slice(i + 1).map((b) => ({ required: [a, b] }))) },
      }));
    defs[name] = {
      type: 'object',
      properties,
      additionalProperties: false,
      ...(exclusive.length ? { allOf: exclusive } : {}),
    };
  };
  const request = root.lookupType(REQUEST);
  visit(request);
  return { $schema: 'http://json-schema.org/draft-07/schema#', $ref: `#/$defs/${REQUEST}`, $defs: defs };
}
