/**
 * Dynalite's request type check (`checkTypes` in its validations) for the
 * requests it would pass as they are: the same walk over the operation's type
 * tree, the same output (fields in the type tree's order, maps in their own,
 * integers floored) and the same removal of unknown and null fields from the
 * request, without what made it the largest part of a request's CPU here (a
 * regular expression per value to read its type name, and a new children
 * object per attribute value).
 *
 * It answers only where dynalite's check would pass the value unchanged in
 * kind: a value that dynalite converts (`"true"` for a Boolean) or refuses
 * (a number where a string goes) makes it give up, and the caller runs
 * dynalite's own check, which converts it or answers its own error. So what
 * this returns is what dynalite's check returns (`dynalite-types.test.ts`
 * compares the two on every operation's types).
 */

/** A node of dynalite's type trees: a type name, or `{ type, children, …constraints }`. */
type TypeSpec = string | { type?: string; children?: TypeSpec | Record<string, TypeSpec> };
type Types = Record<string, TypeSpec>;

class GiveUp {}
const GIVE_UP = new GiveUp();
const giveUp = (): never => {
  throw GIVE_UP;
};

/** An attribute value's fields, as dynalite's `AttrStruct` expands them. */
const ATTRIBUTE_VALUE: Types = {
  S: 'String',
  B: 'Blob',
  N: 'String',
  BOOL: 'Boolean',
  NULL: 'Boolean',
  BS: { type: 'List', children: 'Blob' },
  NS: { type: 'List', children: 'String' },
  SS: { type: 'List', children: 'String' },
  L: { type: 'List', children: 'AttrStruct<ValueStruct>' },
  M: { type: 'Map<AttributeValue>', children: 'AttrStruct<ValueStruct>' },
};

/** `Map<AttributeValue>` → `Map`: what dynalite's `/(.+?)<(.+)>$/` keeps of a type name. */
const baseNames = new Map<string, string>();
function baseOf(name: string): string {
  let base = baseNames.get(name);
  if (base === undefined) {
    const match = /(.+?)<(.+)>$/.exec(name);
    base = match?.[1] ?? name;
    baseNames.set(name, base);
  }
  return base;
}

const isStruct = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * `checkTypes(data, types)` as dynalite computes it for a request it passes
 * unconverted, or undefined where dynalite would convert or refuse something
 * (then call dynalite's own).
 */
export function checkTypesFast(data: unknown, types: unknown): Record<string, unknown> | undefined {
  if (!isStruct(data) || !isStruct(types)) return undefined;
  try {
    return fields(data, types as Types);
  } catch (err) {
    if (err === GIVE_UP) return undefined;
    throw err;
  }
}

function fields(data: Record<string, unknown>, types: Types): Record<string, unknown> {
  // As dynalite: fields it does not know, and null ones, leave the request.
  for (const key in data) if (!types[key] || data[key] == null) delete data[key];
  return inTypeOrder(data, types);
}

function inTypeOrder(data: Record<string, unknown>, types: Types): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(types)) {
    const v = value(data[key], types[key] as TypeSpec);
    if (v != null) out[key] = v;
  }
  return out;
}

/**
 * {@link fields} of an attribute value: one field nearly always, checked
 * alone instead of walking the ten types an attribute value may hold.
 */
function attributeValue(data: Record<string, unknown>): Record<string, unknown> {
  let only: string | undefined;
  let count = 0;
  for (const key in data) {
    if (!ATTRIBUTE_VALUE[key] || data[key] == null) delete data[key];
    else {
      only = key;
      count++;
    }
  }
  if (count !== 1 || only === undefined) return inTypeOrder(data, ATTRIBUTE_VALUE);
  const v = value(data[only], ATTRIBUTE_VALUE[only] as TypeSpec);
  return v != null ? { [only]: v } : {};
}

function value(val: unknown, spec: TypeSpec): unknown {
  if (val == null) return null;
  const children = typeof spec === 'string' ? undefined : spec.children;
  const name = typeof spec === 'string' ? spec : spec.type;
  if (typeof name !== 'string') return giveUp();
  switch (baseOf(name)) {
    case 'AttrStruct':
      return isStruct(val) ? attributeValue(val) : giveUp();
    case 'Boolean':
      return typeof val === 'boolean' ? val : giveUp();
    case 'Short':
    case 'Integer':
    case 'Long':
      return typeof val === 'number' ? Math.floor(val) : giveUp();
    case 'Double':
      return typeof val === 'number' ? val : giveUp();
    case 'String':
      return typeof val === 'string' ? val : giveUp();
    case 'Blob':
      return typeof val === 'string' &&
        val.length % 4 === 0 &&
        Buffer.from(val, 'base64').toString('base64') === val
        ? val
        : giveUp();
    case 'List':
    case 'ParameterizedList': {
      if (!Array.isArray(val) || children === undefined) return giveUp();
      const child = children as TypeSpec;
      return val.map((c) => value(c, child));
    }
    case 'Map':
    case 'ParameterizedMap': {
      if (!isStruct(val) || children === undefined) return giveUp();
      const child = children as TypeSpec;
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(val)) out[key] = value(val[key], child);
      return out;
    }
    case 'ValueStruct':
    case 'FieldStruct':
      return isStruct(val) && isStruct(children) ? fields(val, children as Types) : giveUp();
    default:
      return giveUp();
  }
}
