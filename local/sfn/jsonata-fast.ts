/**
 * A synchronous evaluator for the small part of JSONata that the compiled
 * workflows' states use on every transition (paths into `$states` and
 * variables, literals, comparisons, `and`/`or`, `? :`, object and array
 * constructors, `$count`, `$merge`), built from the jsonata library's own
 * parse tree (`Expression.ast()`).
 *
 * It answers only where JSONata's answer is plain: a value outside what a
 * node handles exactly (an array where a path would map over it, a
 * non-boolean condition, a non-number operand, an unknown variable, an
 * object constructor over an array input…) makes the whole evaluation
 * answer {@link FALLBACK}, and the caller evaluates the expression with
 * jsonata itself, which gives its result or its error as before. So a
 * value this returns is the one jsonata returns (`jsonata-fast.test.ts`
 * compares the two on every node kind and on inputs chosen to cross each
 * boundary); what it saves is jsonata's asynchronous walk, a promise per node.
 */
import type jsonata from 'jsonata';

/** "Not answered here: evaluate with jsonata." */
export const FALLBACK: unique symbol = Symbol('jsonata-fast fallback');

/** What an expression reads: `$states`, the variables in scope, and the input (`$`). */
export interface FastScope {
  states: Record<string, unknown>;
  variables: Record<string, unknown>;
  input: unknown;
}

/** A compiled expression: its value, or {@link FALLBACK}. */
export type FastExpression = (scope: FastScope) => unknown;

/** A node of jsonata's parse tree, as `ast()` gives it (its published type leaves out `path` and stages). */
interface Node {
  type: string;
  value?: unknown;
  position?: number;
  steps?: Node[];
  stages?: Array<{ type: string; expr?: Node }>;
  predicate?: unknown;
  lhs?: Node | Array<[Node, Node]>;
  rhs?: Node;
  condition?: Node;
  then?: Node;
  else?: Node;
  expressions?: Node[];
  procedure?: Node;
  arguments?: Node[];
}

/** Names the Step Functions bindings (`jsonata-eval.ts`) give functions: never a plain variable here. */
const BOUND_FUNCTIONS = new Set(['partition', 'range', 'hash', 'random', 'uuid', 'now', 'millis', 'parse']);
const PATH_STEP_KEYS = new Set(['value', 'type', 'position', 'stages']);

/** Thrown inside a compiled expression to give up; caught once at its top. */
class GiveUp {}
const GIVE_UP = new GiveUp();
const giveUp = (): never => {
  throw GIVE_UP;
};

type Compiled = (scope: FastScope) => unknown;

/** Compiles a parse tree, or answers undefined when it uses anything this does not handle. */
export function compileFast(ast: jsonata.ExprNode): FastExpression | undefined {
  const compiled = node(ast as unknown as Node);
  if (!compiled) return undefined;
  return (scope) => {
    try {
      return compiled(scope);
    } catch {
      // A node gave up, or met something unforeseen: jsonata's to answer, with its own error if any.
      return FALLBACK;
    }
  };
}

function node(n: Node): Compiled | undefined {
  switch (n.type) {
    case 'string':
    case 'number':
    case 'value': {
      const v = n.value as unknown;
      if (n.type === 'number' && !Number.isFinite(v)) return undefined;
      return () => v;
    }
    case 'variable':
      return variable(n);
    case 'path':
      return path(n);
    case 'binary':
      return binary(n);
    case 'condition':
      return condition(n);
    case 'unary':
      return n.value === '{' ? objectOf(n) : n.value === '[' ? arrayOf(n) : undefined;
    case 'function':
      return call(n);
    default:
      return undefined;
  }
}

function variable(n: Node): Compiled | undefined {
  const name = n.value as unknown;
  if (typeof name !== 'string' || name === '' || BOUND_FUNCTIONS.has(name)) return undefined;
  if (n.stages || n.predicate) return undefined;
  if (name === 'states') return (s) => s.states;
  return (s) => (Object.hasOwn(s.variables, name) ? s.variables[name] : giveUp());
}

/** The index of a `[n]` stage (a non-negative integer literal), or undefined when it is anything else. */
function indexOf(stages: Node['stages']): number | null | undefined {
  if (stages === undefined) return null;
  if (stages.length !== 1) return undefined;
  const [stage] = stages;
  if (stage?.type !== 'filter' || stage.expr?.type !== 'number') return undefined;
  const i = stage.expr.value as unknown;
  return typeof i === 'number' && Number.isInteger(i) && i >= 0 ? i : undefined;
}

/** `x[n]`: an array's element that is not itself an array, or undefined past its end. */
function indexInto(value: unknown, i: number): unknown {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) return giveUp();
  const element = value[i] as unknown;
  return Array.isArray(element) ? giveUp() : element;
}

/** One step of a path: a field of an object (never a mapping over an array). */
function field(value: unknown, name: string): unknown {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) return giveUp();
  return Object.hasOwn(value, name) ? (value as Record<string, unknown>)[name] : undefined;
}

function path(n: Node): Compiled | undefined {
  const steps = n.steps;
  if (!steps || steps.length === 0) return undefined;
  if (Object.keys(n).some((k) => k !== 'type' && k !== 'steps' && k !== 'position')) return undefined;
  const parts: Array<{ name: string; index: number | null }> = [];
  let start: Compiled;
  const [first, ...rest] = steps;
  if (!first) return undefined;
  for (const step of steps)
    if (Object.keys(step).some((k) => !PATH_STEP_KEYS.has(k)) || typeof step.value !== 'string')
      return undefined;
  const firstIndex = indexOf(first.stages);
  if (firstIndex === undefined) return undefined;
  if (first.type === 'variable') {
    const v = variable({ ...first, stages: undefined } as Node);
    if (!v) return undefined;
    start = v;
  } else if (first.type === 'name') {
    const name = first.value as string;
    start = (s) => (Array.isArray(s.input) ? giveUp() : field(s.input, name));
  } else return undefined;
  for (const step of rest) {
    if (step.type !== 'name') return undefined;
    const index = indexOf(step.stages);
    if (index === undefined) return undefined;
    parts.push({ name: step.value as string, index });
  }
  return (s) => {
    let value = start(s);
    if (firstIndex !== null) value = indexInto(value, firstIndex);
    for (const p of parts) {
      value = field(value, p.name);
      if (p.index !== null) value = indexInto(value, p.index);
    }
    return value;
  };
}

const isPrimitive = (v: unknown): boolean =>
  v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

function binary(n: Node): Compiled | undefined {
  const lhs = n.lhs && !Array.isArray(n.lhs) ? node(n.lhs) : undefined;
  const rhs = n.rhs ? node(n.rhs) : undefined;
  if (!lhs || !rhs) return undefined;
  switch (n.value as unknown) {
    case '=':
    case '!=': {
      const equal = n.value === '=';
      return (s) => {
        const a = lhs(s);
        const b = rhs(s);
        if (a === undefined || b === undefined) return false;
        if (!isPrimitive(a) || !isPrimitive(b)) return giveUp();
        return equal ? a === b : a !== b;
      };
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const op = n.value as string;
      return (s) => {
        const a = lhs(s);
        const b = rhs(s);
        const comparable =
          (typeof a === 'number' && typeof b === 'number') ||
          (typeof a === 'string' && typeof b === 'string');
        if (!comparable) return giveUp();
        const x = a as number | string;
        const y = b as number | string;
        return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
      };
    }
    case '+':
    case '-':
    case '*': {
      const op = n.value as string;
      return (s) => {
        const a = lhs(s);
        const b = rhs(s);
        if (typeof a !== 'number' || typeof b !== 'number') return giveUp();
        const out = op === '+' ? a + b : op === '-' ? a - b : a * b;
        return Number.isFinite(out) ? out : giveUp();
      };
    }
    case 'and':
    case 'or': {
      const and = n.value === 'and';
      return (s) => {
        // Both sides, always: a side jsonata would refuse is refused here as well.
        const a = lhs(s);
        const b = rhs(s);
        if (typeof a !== 'boolean' || typeof b !== 'boolean') return giveUp();
        return and ? a && b : a || b;
      };
    }
    default:
      return undefined;
  }
}

function condition(n: Node): Compiled | undefined {
  const test = n.condition ? node(n.condition) : undefined;
  const then = n.then ? node(n.then) : undefined;
  const otherwise = n.else ? node(n.else) : () => undefined;
  if (!test || !then || !otherwise) return undefined;
  return (s) => {
    const c = test(s);
    if (typeof c !== 'boolean') return giveUp();
    return c ? then(s) : otherwise(s);
  };
}

function objectOf(n: Node): Compiled | undefined {
  const pairs = Array.isArray(n.lhs) ? n.lhs : undefined;
  if (!pairs) return undefined;
  const keys = new Set<string>();
  const entries: Array<[string, Compiled]> = [];
  for (const [k, v] of pairs) {
    if (k.type !== 'string' || typeof k.value !== 'string' || keys.has(k.value)) return undefined;
    keys.add(k.value);
    const value = node(v);
    if (!value) return undefined;
    entries.push([k.value, value]);
  }
  return (s) => {
    // Over an array input, jsonata's object constructor groups its items instead.
    if (Array.isArray(s.input)) return giveUp();
    const out: Record<string, unknown> = {};
    for (const [k, value] of entries) {
      const v = value(s);
      if (v !== undefined) out[k] = v;
    }
    return out;
  };
}

function arrayOf(n: Node): Compiled | undefined {
  const items = n.expressions;
  if (!items) return undefined;
  const compiled = items.map(node);
  if (compiled.some((c) => !c)) return undefined;
  const elements = compiled as Compiled[];
  return (s) =>
    elements.map((e) => {
      const v = e(s);
      // jsonata flattens an array into the one it builds, and drops nothing: not answered here.
      return v === undefined || Array.isArray(v) ? giveUp() : v;
    });
}

function call(n: Node): Compiled | undefined {
  const procedure = n.procedure;
  const args = n.arguments;
  if (procedure?.type !== 'variable' || !args || args.length !== 1 || !args[0]) return undefined;
  const name = procedure.value as unknown;
  const arg = node(args[0]);
  if (!arg) return undefined;
  const shadowed = (s: FastScope) => Object.hasOwn(s.variables, name as string);
  if (name === 'count')
    return (s) => {
      if (shadowed(s)) return giveUp();
      const v = arg(s);
      if (v === undefined) return 0;
      return Array.isArray(v) ? v.length : giveUp();
    };
  if (name === 'merge')
    return (s) => {
      if (shadowed(s)) return giveUp();
      const v = arg(s);
      if (v === undefined) return undefined;
      if (!Array.isArray(v)) return giveUp();
      const out: Record<string, unknown> = {};
      for (const o of v) {
        if (o === null || typeof o !== 'object' || Array.isArray(o)) return giveUp();
        Object.assign(out, o);
      }
      return out;
    };
  return undefined;
}
