/**
 * Evaluates parsed JSONPath against JSON values with the semantics of Jayway JsonPath,
 * the library behind AWS Step Functions: definite paths yield one value or a
 * "not found" reason worded like Jayway's; indefinite paths yield an array of matches.
 */

import { deepEqual, isPlainObject, typeNameForJava } from './json-util.js';
import type { FilterExpr, ParsedPath, Segment } from './path-ast.js';
import { isDefiniteSegment, pathToString, segmentToString } from './path-ast.js';

/** Values the path roots refer to. */
export interface PathRoots {
  input: unknown;
  context: unknown;
  variables: Record<string, unknown>;
}

/** Outcome of evaluating a path. */
export type PathOutcome = { found: true; value: unknown } | { found: false; reason: string };

interface Node {
  value: unknown;
  path: string;
}

class NotFound extends Error {}

/** Evaluates `path`; never throws for missing data (only `found: false`). */
export function evaluatePath(path: ParsedPath, roots: PathRoots, current?: unknown): PathOutcome {
  let start: unknown;
  switch (path.root.kind) {
    case 'input':
      start = roots.input;
      break;
    case 'context':
      start = roots.context;
      break;
    case 'current':
      start = current;
      break;
    case 'variable': {
      const name = path.root.name;
      if (!Object.hasOwn(roots.variables, name))
        return { found: false, reason: `The variable '${name}' is not defined` };
      start = roots.variables[name];
    }
  }
  try {
    const nodes = walk(path.segments, [{ value: start, path: '$' }], roots, path.definite);
    if (!path.definite) return { found: true, value: nodes.map((n) => n.value) };
    const first = nodes[0];
    if (!first) return { found: false, reason: `No results for path: ${pathToString(path)}` };
    return { found: true, value: first.value };
  } catch (e) {
    if (e instanceof NotFound) return { found: false, reason: e.message };
    throw e;
  }
}

function walk(segments: Segment[], start: Node[], roots: PathRoots, definite: boolean): Node[] {
  let nodes = start;
  // Jayway raises "missing property" errors only for definite paths; indefinite ones yield [].
  let upstreamDefinite = definite;
  segments.forEach((segment, i) => {
    const leaf = i === segments.length - 1;
    const next: Node[] = [];
    for (const node of nodes) apply(segment, node, next, roots, upstreamDefinite, leaf);
    nodes = next;
    upstreamDefinite = upstreamDefinite && isDefiniteSegment(segment);
  });
  return nodes;
}

function apply(
  segment: Segment,
  node: Node,
  out: Node[],
  roots: PathRoots,
  strict: boolean,
  leaf: boolean,
): void {
  const { value, path } = node;
  switch (segment.kind) {
    case 'prop': {
      if (!isPlainObject(value)) {
        if (strict && segment.names.length === 1)
          throw new NotFound(
            `Expected to find an object with property ${segmentToString(segment)} in path ${path} but found '${typeNameForJava(value)}'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonProvider'.`,
          );
        return;
      }
      for (const name of segment.names) {
        if (Object.hasOwn(value, name)) out.push({ value: value[name], path: `${path}['${name}']` });
        else if (strict && !leaf && segment.names.length === 1)
          throw new NotFound(`Missing property in path ${path}['${name}']`);
      }
      return;
    }
    case 'wild':
      if (Array.isArray(value)) value.forEach((v, i) => void out.push({ value: v, path: `${path}[${i}]` }));
      else if (isPlainObject(value))
        for (const [k, v] of Object.entries(value)) out.push({ value: v, path: `${path}['${k}']` });
      return;
    case 'index':
      if (!Array.isArray(value)) {
        if (strict && segment.indexes.length === 1) {
          if (value === null || value === undefined) throw new NotFound(`The path ${path} is null`);
          throw new NotFound(
            `Filter: ${segmentToString(segment)} can only be applied to arrays. Current context is: ${JSON.stringify(value)}`,
          );
        }
        return;
      }
      for (const index of segment.indexes) {
        const effective = index < 0 ? value.length + index : index;
        if (effective >= 0 && effective < value.length)
          out.push({ value: value[effective], path: `${path}[${effective}]` });
      }
      return;
    case 'slice': {
      if (!Array.isArray(value)) return;
      const len = value.length;
      const step = segment.step ?? 1;
      if (step <= 0) return;
      const norm = (n: number | undefined, dflt: number): number =>
        n === undefined ? dflt : Math.min(len, Math.max(0, n < 0 ? len + n : n));
      const from = norm(segment.start, 0);
      const to = norm(segment.end, len);
      for (let i = from; i < to; i += step) out.push({ value: value[i], path: `${path}[${i}]` });
      return;
    }
    case 'filter':
      if (Array.isArray(value)) {
        value.forEach((v, i) => {
          if (truthy(segment.expr, v, roots)) out.push({ value: v, path: `${path}[${i}]` });
        });
      } else if (isPlainObject(value) && truthy(segment.expr, value, roots)) out.push(node);
      return;
    case 'script': {
      const key = evalExpr(segment.expr, value, roots);
      if (typeof key === 'number')
        apply({ kind: 'index', indexes: [Math.trunc(key)] }, node, out, roots, strict, leaf);
      else if (typeof key === 'string') apply({ kind: 'prop', names: [key] }, node, out, roots, strict, leaf);
      return;
    }
    case 'descend':
      for (const d of descendants(node)) apply(segment.inner, d, out, roots, false, leaf);
  }
}

function descendants(node: Node): Node[] {
  const out: Node[] = [];
  const visit = (n: Node): void => {
    out.push(n);
    if (Array.isArray(n.value))
      n.value.forEach((v, i) => {
        visit({ value: v, path: `${n.path}[${i}]` });
      });
    else if (isPlainObject(n.value))
      for (const [k, v] of Object.entries(n.value)) visit({ value: v, path: `${n.path}['${k}']` });
  };
  visit(node);
  return out;
}

const MISSING = Symbol('missing');

/** Value of a filter sub-expression (`MISSING` when a path selects nothing). */
function evalExpr(expr: FilterExpr, current: unknown, roots: PathRoots): unknown {
  switch (expr.kind) {
    case 'literal':
      return expr.value;
    case 'regex':
      return expr.regex;
    case 'path': {
      const outcome = evaluatePath(expr.path, roots, current);
      if (!outcome.found) {
        const segs = expr.path.segments;
        const last = segs[segs.length - 1];
        // `@.length` on arrays and strings, as Jayway supports.
        if (last?.kind === 'prop' && last.names[0] === 'length' && last.names.length === 1) {
          const owner = evaluatePath({ ...expr.path, segments: segs.slice(0, -1) }, roots, current);
          if (owner.found && (Array.isArray(owner.value) || typeof owner.value === 'string'))
            return owner.value.length;
        }
        return MISSING;
      }
      return outcome.value;
    }
    case 'not':
      return !truthy(expr.expr, current, roots);
    case 'binary':
      return binary(expr, current, roots);
  }
}

function truthy(expr: FilterExpr, current: unknown, roots: PathRoots): boolean {
  const v = evalExpr(expr, current, roots);
  if (expr.kind === 'path') {
    if (v === MISSING) return false;
    return expr.path.definite || (Array.isArray(v) && v.length > 0);
  }
  return v === true;
}

function binary(expr: Extract<FilterExpr, { kind: 'binary' }>, current: unknown, roots: PathRoots): unknown {
  if (expr.op === '&&') return truthy(expr.left, current, roots) && truthy(expr.right, current, roots);
  if (expr.op === '||') return truthy(expr.left, current, roots) || truthy(expr.right, current, roots);
  const l = evalExpr(expr.left, current, roots);
  const r = evalExpr(expr.right, current, roots);
  switch (expr.op) {
    case '+':
    case '-':
      if (typeof l !== 'number' || typeof r !== 'number') return MISSING;
      return expr.op === '+' ? l + r : l - r;
    case '==':
      return l !== MISSING && r !== MISSING && looseEqual(l, r);
    case '!=':
      return !(l !== MISSING && r !== MISSING && looseEqual(l, r));
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const cmp = compare(l, r);
      if (cmp === undefined) return false;
      return expr.op === '<' ? cmp < 0 : expr.op === '<=' ? cmp <= 0 : expr.op === '>' ? cmp > 0 : cmp >= 0;
    }
    case '=~': {
      if (typeof l !== 'string' || !(r instanceof RegExp)) return false;
      return new RegExp(`^(?:${r.source})$`, r.flags).test(l);
    }
    case 'in':
      return Array.isArray(r) && r.some((x) => looseEqual(l, x));
    case 'nin':
      return Array.isArray(r) && !r.some((x) => looseEqual(l, x));
    case 'contains':
      if (typeof l === 'string') return typeof r === 'string' && l.includes(r);
      return Array.isArray(l) && l.some((x) => looseEqual(x, r));
    case 'subsetof':
      return Array.isArray(l) && Array.isArray(r) && l.every((x) => r.some((y) => looseEqual(x, y)));
    case 'anyof':
      return Array.isArray(l) && Array.isArray(r) && l.some((x) => r.some((y) => looseEqual(x, y)));
    case 'noneof':
      return Array.isArray(l) && Array.isArray(r) && !l.some((x) => r.some((y) => looseEqual(x, y)));
    case 'size':
      return (Array.isArray(l) || typeof l === 'string') && l.length === r;
    case 'empty':
      return (Array.isArray(l) || typeof l === 'string') && (l.length === 0) === r;
    default:
      return false;
  }
}

function looseEqual(a: unknown, b: unknown): boolean {
  // Jayway compares a number and a string by their string forms.
  if (typeof a === 'number' && typeof b === 'string') return String(a) === b;
  if (typeof a === 'string' && typeof b === 'number') return a === String(b);
  return deepEqual(a, b);
}

function compare(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}
