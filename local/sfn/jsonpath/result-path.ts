/** ResultPath: where a state's result is placed in (a copy of) its input. */
import { StatesError } from '../errors.js';
import { cloneJson, isPlainObject, toJsonText } from './json-util.js';
import type { Segment } from './path-ast.js';
import { PathSyntaxError, parsePath } from './path-parser.js';

function matchFailure(resultPath: string, input: unknown): never {
  throw new StatesError(
    'States.ResultPathMatchFailure',
    `Unable to apply ReferencePath ${resultPath} to input ${toJsonText(input)}`,
  );
}

/**
 * Combines a state's input with its result according to `ResultPath`.
 * `undefined` or `"$"`: the result replaces the input; `null`: the input passes through
 * unchanged; `"$.a.b"`: the result is written into a copy of the input, creating
 * intermediate objects as needed.
 *
 * @throws StatesError `States.ResultPathMatchFailure` when the path cannot be applied
 *   (e.g. the input, or a value along the path, is not an object).
 */
export function applyResultPathTo(
  stateInput: unknown,
  result: unknown,
  resultPath: string | null | undefined,
): unknown {
  if (resultPath === null) return stateInput;
  if (resultPath === undefined) return result;
  let segments: Segment[];
  try {
    const parsed = parsePath(resultPath.trim());
    if (parsed.root.kind !== 'input') return matchFailure(resultPath, stateInput);
    segments = parsed.segments;
  } catch (e) {
    if (e instanceof PathSyntaxError) return matchFailure(resultPath, stateInput);
    throw e;
  }
  if (segments.length === 0) return result;
  const root = cloneJson(stateInput);
  let target: unknown = root;
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    if (segment.kind === 'prop' && segment.names.length === 1) {
      const name = segment.names[0] as string;
      if (!isPlainObject(target)) return matchFailure(resultPath, stateInput);
      if (last) target[name] = result;
      else {
        if (target[name] === undefined || target[name] === null) target[name] = {};
        target = target[name];
      }
    } else if (segment.kind === 'index' && segment.indexes.length === 1) {
      if (!Array.isArray(target)) return matchFailure(resultPath, stateInput);
      const raw = segment.indexes[0] as number;
      const index = raw < 0 ? target.length + raw : raw;
      if (index < 0 || index >= target.length) return matchFailure(resultPath, stateInput);
      if (last) target[index] = result;
      else target = target[index];
    } else return matchFailure(resultPath, stateInput);
  }
  return root;
}
