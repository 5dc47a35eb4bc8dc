/**
 * Parser for intrinsic function calls such as
 * `States.Format('Hello {}', States.ArrayGetItem($.names, 0))`.
 *
 * Arguments are single-quoted strings (with `\'`, `\\`, `\{`, `\}` escapes), numbers,
 * `true`/`false`/`null`, paths (`$...`, `$$...`, `$var...`) and nested calls.
 */
import { StatesError } from '../../errors.js';

/** One argument of a call. `raw` keeps a string literal's escapes (States.Format needs them). */
export type IntrinsicArg =
  | { kind: 'string'; value: string; raw: string }
  | { kind: 'literal'; value: number | boolean | null }
  | { kind: 'path'; path: string }
  | IntrinsicCall;

/** A parsed call, e.g. `States.ArrayLength($.x)`. */
export interface IntrinsicCall {
  kind: 'call';
  name: string;
  args: IntrinsicArg[];
}

/** True when a `.$` value is an intrinsic function call rather than a path. */
export function isIntrinsicExpression(text: string): boolean {
  return /^\s*States\.[A-Za-z0-9]+\s*\(/.test(text);
}

const cache = new Map<string, IntrinsicCall>();

/** Parses an intrinsic call expression; throws `States.IntrinsicFailure` on syntax errors. Results are cached. */
export function parseIntrinsic(source: string): IntrinsicCall {
  const hit = cache.get(source);
  if (hit) return hit;
  const p = new Parser(source);
  p.space();
  const call = p.call();
  p.space();
  if (p.pos < source.length) p.fail('unexpected text after the closing parenthesis');
  if (cache.size > 5000) cache.clear();
  cache.set(source, call);
  return call;
}

class Parser {
  pos = 0;
  constructor(readonly src: string) {}

  fail(message: string): never {
    throw new StatesError(
      'States.IntrinsicFailure',
      `Invalid intrinsic function expression '${this.src}': ${message} (at position ${this.pos})`,
    );
  }
  space(): void {
    while (this.pos < this.src.length && /\s/.test(this.src.charAt(this.pos))) this.pos++;
  }
  peek(): string {
    return this.src.charAt(this.pos);
  }

  call(): IntrinsicCall {
    const m = /^States\.[A-Za-z0-9]+/.exec(this.src.slice(this.pos));
    if (!m) this.fail('expected a States.<Function> call');
    this.pos += m[0].length;
    this.space();
    if (this.peek() !== '(') this.fail("expected '('");
    this.pos++;
    const args: IntrinsicArg[] = [];
    this.space();
    if (this.peek() === ')') {
      this.pos++;
      return { kind: 'call', name: m[0], args };
    }
    for (;;) {
      this.space();
      args.push(this.arg());
      this.space();
      const c = this.peek();
      this.pos++;
      if (c === ')') return { kind: 'call', name: m[0], args };
      if (c !== ',') {
        this.pos--;
        this.fail("expected ',' or ')'");
      }
    }
  }

  arg(): IntrinsicArg {
    const c = this.peek();
    if (c === "'") return this.string();
    if (c === '$') return { kind: 'path', path: this.path() };
    if (this.src.startsWith('States.', this.pos)) return this.call();
    const num = /^-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?/.exec(this.src.slice(this.pos));
    if (num) {
      this.pos += num[0].length;
      return { kind: 'literal', value: Number(num[0]) };
    }
    for (const [word, value] of [
      ['true', true],
      ['false', false],
      ['null', null],
    ] as const) {
      if (
        this.src.startsWith(word, this.pos) &&
        !/[A-Za-z0-9_]/.test(this.src.charAt(this.pos + word.length))
      ) {
        this.pos += word.length;
        return { kind: 'literal', value };
      }
    }
    return this.fail('expected an argument');
  }

  string(): IntrinsicArg {
    this.pos++; // opening quote
    let value = '';
    let raw = '';
    while (this.pos < this.src.length) {
      const c = this.src.charAt(this.pos);
      if (c === '\\' && this.pos + 1 < this.src.length) {
        const e = this.src.charAt(this.pos + 1);
        raw += c + e;
        value += "'{}\\".includes(e) ? e : c + e;
        this.pos += 2;
        continue;
      }
      this.pos++;
      if (c === "'") return { kind: 'string', value, raw };
      value += c;
      raw += c;
    }
    return this.fail('unterminated string literal');
  }

  /** A path argument runs to the next `,` or `)` outside brackets, quotes and parentheses. */
  path(): string {
    const start = this.pos;
    let depth = 0;
    let quote = '';
    while (this.pos < this.src.length) {
      const c = this.src.charAt(this.pos);
      if (quote) {
        if (c === '\\') this.pos++;
        else if (c === quote) quote = '';
      } else if (c === "'" || c === '"') quote = c;
      else if (c === '[' || c === '(') depth++;
      else if (c === ']' || c === ')') {
        if (depth === 0) break;
        depth--;
      } else if (c === ',' && depth === 0) break;
      this.pos++;
    }
    return this.src.slice(start, this.pos).trim();
  }
}
