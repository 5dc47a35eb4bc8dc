/**
 * Parser for Step Functions JSONPath: `$`, `$$` and `$var` roots, dot and bracket
 * notation, wildcards, unions, slices, recursive descent (`..`), filters (`[?(...)]`)
 * and script indexes (`[(@.length-1)]`).
 */
import type { FilterExpr, ParsedPath, PathRoot, Segment } from './path-ast.js';
import { isDefiniteSegment } from './path-ast.js';

/** Raised for a syntactically invalid path; callers turn it into a StatesError. */
export class PathSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PathSyntaxError';
  }
}

const cache = new Map<string, ParsedPath>();

/** Parses a complete path string, e.g. `$.a[0]`, `$$.Execution.Id`, `$myVar.x`. Results are cached. */
export function parsePath(source: string): ParsedPath {
  const hit = cache.get(source);
  if (hit) return hit;
  const scanner = new Scanner(source, false);
  const path = scanner.path();
  scanner.skipSpace();
  if (!scanner.atEnd()) scanner.fail(`Unexpected character '${scanner.peek()}'`);
  if (cache.size > 5000) cache.clear();
  cache.set(source, path);
  return path;
}

const FILTER_NAME_STOP = new Set([
  ' ',
  '\t',
  '\n',
  '\r',
  '.',
  '[',
  ']',
  '(',
  ')',
  '=',
  '<',
  '>',
  '!',
  '&',
  '|',
  ',',
  '+',
]);
const WORD_OPS = ['nin', 'in', 'subsetof', 'anyof', 'noneof', 'size', 'empty', 'contains'];

class Scanner {
  pos = 0;
  constructor(
    readonly src: string,
    readonly inFilter: boolean,
  ) {}

  atEnd(): boolean {
    return this.pos >= this.src.length;
  }
  peek(offset = 0): string {
    return this.src.charAt(this.pos + offset);
  }
  fail(message: string): never {
    throw new PathSyntaxError(`${message} at position ${this.pos} in path ${this.src}`);
  }
  skipSpace(): void {
    while (/\s/.test(this.peek()) && !this.atEnd()) this.pos++;
  }
  eat(text: string): boolean {
    if (this.src.startsWith(text, this.pos)) {
      this.pos += text.length;
      return true;
    }
    return false;
  }
  expect(text: string): void {
    if (!this.eat(text)) this.fail(`Expected '${text}'`);
  }

  path(): ParsedPath {
    let root: PathRoot;
    if (this.eat('@')) root = { kind: 'current' };
    else {
      this.expect('$');
      if (this.eat('$')) root = { kind: 'context' };
      else {
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.src.slice(this.pos));
        if (m) {
          this.pos += m[0].length;
          root = { kind: 'variable', name: m[0] };
        } else root = { kind: 'input' };
      }
    }
    const segments: Segment[] = [];
    for (;;) {
      const c = this.peek();
      if (c === '.' || c === '[') segments.push(this.segment());
      else if (this.atEnd() || this.inFilter) break;
      else this.fail(`Unexpected character '${c}'`);
    }
    return { root, segments, definite: segments.every(isDefiniteSegment) };
  }

  segment(): Segment {
    if (this.eat('..')) {
      if (this.eat('*')) return { kind: 'descend', inner: { kind: 'wild' } };
      if (this.peek() === '[') return { kind: 'descend', inner: this.bracket() };
      return { kind: 'descend', inner: { kind: 'prop', names: [this.name()] } };
    }
    if (this.eat('.')) {
      if (this.eat('*')) return { kind: 'wild' };
      if (this.peek() === '[') return this.bracket();
      return { kind: 'prop', names: [this.name()] };
    }
    return this.bracket();
  }

  name(): string {
    const start = this.pos;
    while (!this.atEnd()) {
      const c = this.peek();
      if (c === '.' || c === '[') break;
      if (this.inFilter && (FILTER_NAME_STOP.has(c) || (c === '-' && /[0-9\s]/.test(this.peek(1))))) break;
      this.pos++;
    }
    if (this.pos === start) this.fail('Expected a property name');
    return this.src.slice(start, this.pos);
  }

  bracket(): Segment {
    this.expect('[');
    this.skipSpace();
    let segment: Segment;
    if (this.eat('*')) segment = { kind: 'wild' };
    else if (this.eat('?')) segment = { kind: 'filter', expr: this.subExpression() };
    else if (this.peek() === '(') segment = { kind: 'script', expr: this.subExpression() };
    else if (this.peek() === "'" || this.peek() === '"') {
      const names = [this.quoted()];
      for (this.skipSpace(); this.eat(','); this.skipSpace()) {
        this.skipSpace();
        names.push(this.quoted());
      }
      segment = { kind: 'prop', names };
    } else segment = this.indexOrSlice();
    this.skipSpace();
    this.expect(']');
    return segment;
  }

  subExpression(): FilterExpr {
    const sub = new Scanner(this.src, true);
    sub.pos = this.pos;
    const expr = sub.orExpr();
    sub.skipSpace();
    this.pos = sub.pos;
    return expr;
  }

  indexOrSlice(): Segment {
    const first = this.optInt();
    this.skipSpace();
    if (this.eat(':')) {
      const end = this.optInt();
      this.skipSpace();
      const step = this.eat(':') ? this.optInt() : undefined;
      return { kind: 'slice', start: first, end, step };
    }
    if (first === undefined) this.fail('Expected an index');
    const indexes = [first];
    for (this.skipSpace(); this.eat(','); this.skipSpace()) {
      const next = this.optInt();
      if (next === undefined) this.fail('Expected an index');
      indexes.push(next);
    }
    return { kind: 'index', indexes };
  }

  optInt(): number | undefined {
    this.skipSpace();
    const m = /^-?\d+/.exec(this.src.slice(this.pos));
    if (!m) return undefined;
    this.pos += m[0].length;
    return Number(m[0]);
  }

  quoted(): string {
    const quote = this.peek();
    if (quote !== "'" && quote !== '"') this.fail('Expected a quoted name');
    this.pos++;
    let out = '';
    while (!this.atEnd() && this.peek() !== quote) {
      if (this.peek() === '\\') {
        // AWS keeps a backslash unless it escapes the delimiter or another backslash.
        this.pos++;
        const e = this.peek();
        out += e === quote || e === '\\' ? e : `\\${e}`;
      } else out += this.peek();
      this.pos++;
    }
    this.expect(quote);
    return out;
  }

  // ---- filter expressions ----
  orExpr(): FilterExpr {
    let left = this.andExpr();
    for (this.skipSpace(); this.eat('||'); this.skipSpace())
      left = { kind: 'binary', op: '||', left, right: this.andExpr() };
    return left;
  }
  andExpr(): FilterExpr {
    let left = this.notExpr();
    for (this.skipSpace(); this.eat('&&'); this.skipSpace())
      left = { kind: 'binary', op: '&&', left, right: this.notExpr() };
    return left;
  }
  notExpr(): FilterExpr {
    this.skipSpace();
    if (this.peek() === '!' && this.peek(1) !== '=') {
      this.pos++;
      return { kind: 'not', expr: this.notExpr() };
    }
    return this.comparison();
  }
  comparison(): FilterExpr {
    const left = this.additive();
    this.skipSpace();
    for (const op of ['==', '!=', '<=', '>=', '=~', '<', '>']) {
      if (this.eat(op)) return { kind: 'binary', op, left, right: this.additive() };
    }
    for (const op of WORD_OPS) {
      if (this.src.startsWith(op, this.pos) && /[\s[('"]/.test(this.peek(op.length))) {
        this.pos += op.length;
        return { kind: 'binary', op, left, right: this.additive() };
      }
    }
    return left;
  }
  additive(): FilterExpr {
    let left = this.primary();
    for (;;) {
      this.skipSpace();
      const c = this.peek();
      if (c !== '+' && c !== '-') return left;
      this.pos++;
      left = { kind: 'binary', op: c, left, right: this.primary() };
    }
  }
  primary(): FilterExpr {
    this.skipSpace();
    const c = this.peek();
    if (c === '(') {
      this.pos++;
      const inner = this.orExpr();
      this.skipSpace();
      this.expect(')');
      return inner;
    }
    if (c === '@' || c === '$') return { kind: 'path', path: this.path() };
    if (c === "'" || c === '"') return { kind: 'literal', value: this.quoted() };
    if (c === '/') return this.regex();
    if (c === '[') return this.arrayLiteral();
    const num = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(this.src.slice(this.pos));
    if (num) {
      this.pos += num[0].length;
      return { kind: 'literal', value: Number(num[0]) };
    }
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (this.eat(word)) return { kind: 'literal', value };
    }
    return this.fail('Unexpected token in filter');
  }
  regex(): FilterExpr {
    this.expect('/');
    let body = '';
    while (!this.atEnd() && this.peek() !== '/') {
      if (this.peek() === '\\') body += this.src[this.pos++];
      body += this.src[this.pos++];
    }
    this.expect('/');
    const flags = /^[a-z]*/.exec(this.src.slice(this.pos))?.[0] ?? '';
    this.pos += flags.length;
    return { kind: 'regex', regex: new RegExp(body, flags.replace(/[^imsu]/g, '')) };
  }
  arrayLiteral(): FilterExpr {
    this.expect('[');
    const values: unknown[] = [];
    this.skipSpace();
    if (!this.eat(']')) {
      do {
        const item = this.primary();
        if (item.kind !== 'literal') this.fail('Array literals may only hold literals');
        values.push(item.value);
        this.skipSpace();
      } while (this.eat(','));
      this.expect(']');
    }
    return { kind: 'literal', value: values };
  }
}
