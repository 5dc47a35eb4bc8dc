/**
 * Syntax tree of a parsed JSONPath expression as Step Functions accepts it:
 * `$...` (state input), `$$...` (context object) and `$name...` (variables).
 */

/** Where evaluation starts. */
export type PathRoot =
  | { kind: 'input' }
  | { kind: 'context' }
  | { kind: 'variable'; name: string }
  /** `@` inside a filter expression: the element being tested. */
  | { kind: 'current' };

/** One step of a path. */
export type Segment =
  | { kind: 'prop'; names: string[] }
  | { kind: 'wild' }
  | { kind: 'index'; indexes: number[] }
  | { kind: 'slice'; start: number | undefined; end: number | undefined; step: number | undefined }
  | { kind: 'filter'; expr: FilterExpr }
  | { kind: 'script'; expr: FilterExpr }
  | { kind: 'descend'; inner: Segment };

/** A parsed path. */
export interface ParsedPath {
  root: PathRoot;
  segments: Segment[];
  /** True when the path can select at most one value (no wildcard, filter, slice, union or `..`). */
  definite: boolean;
}

/** Expressions inside `[?( ... )]` and `[( ... )]`. */
export type FilterExpr =
  | { kind: 'literal'; value: unknown }
  | { kind: 'regex'; regex: RegExp }
  | { kind: 'path'; path: ParsedPath }
  | { kind: 'not'; expr: FilterExpr }
  | { kind: 'binary'; op: string; left: FilterExpr; right: FilterExpr };

/** True when a segment selects at most one value. */
export function isDefiniteSegment(segment: Segment): boolean {
  if (segment.kind === 'prop') return segment.names.length === 1;
  if (segment.kind === 'index') return segment.indexes.length === 1;
  return segment.kind === 'script';
}

/** Jayway-style rendering of one segment, used in AWS error messages (`['a']`, `[0]`, `[*]`). */
export function segmentToString(segment: Segment): string {
  switch (segment.kind) {
    case 'prop':
      return `[${segment.names.map((n) => `'${n}'`).join(',')}]`;
    case 'wild':
      return '[*]';
    case 'index':
      return `[${segment.indexes.join(',')}]`;
    case 'slice':
      return `[${segment.start ?? ''}:${segment.end ?? ''}]`;
    case 'filter':
      return '[?]';
    case 'script':
      return '[()]';
    case 'descend':
      return `..${segmentToString(segment.inner)}`;
  }
}

/** Jayway-style rendering of a whole path (`$['a'][0]`). */
export function pathToString(path: ParsedPath): string {
  return `$${path.segments.map(segmentToString).join('')}`;
}
