/** Evaluation of parsed intrinsic function calls, including nested calls and path arguments. */
import { StatesError } from '../../errors.js';
import { queryPath, queryPathForField } from '../path.js';
import { INTRINSICS } from './functions.js';
import { type IntrinsicArg, type IntrinsicCall, parseIntrinsic } from './parser.js';

interface Scope {
  input: unknown;
  context: unknown;
  variables: Record<string, unknown>;
  field: string | undefined;
}

function evalArg(arg: IntrinsicArg, scope: Scope): unknown {
  switch (arg.kind) {
    case 'string':
      return arg.value;
    case 'literal':
      return arg.value;
    case 'path':
      return scope.field === undefined
        ? queryPath(arg.path, scope.input, scope.context, scope.variables)
        : queryPathForField(arg.path, scope.field, scope.input, scope.context, scope.variables);
    case 'call':
      return evalCall(arg, scope);
  }
}

function evalCall(call: IntrinsicCall, scope: Scope): unknown {
  const impl = INTRINSICS[call.name];
  if (!impl) throw new StatesError('States.IntrinsicFailure', `Unknown intrinsic function ${call.name}`);
  const values = call.args.map((a) => evalArg(a, scope));
  const raw = call.args.map((a) => (a.kind === 'string' ? a.raw : undefined));
  return impl(values, raw);
}

/**
 * Evaluates an intrinsic function expression such as `States.Format('{}', $.x)`.
 * `field` (e.g. `"greeting.$"`) is used in the wording of path-not-found errors.
 *
 * @throws StatesError `States.IntrinsicFailure` for bad syntax, unknown functions or bad arguments;
 *   `States.Runtime` when a path argument matches nothing.
 */
export function evaluateIntrinsicExpression(
  expression: string,
  input: unknown,
  context: unknown,
  variables: Record<string, unknown>,
  field?: string,
): unknown {
  return evalCall(parseIntrinsic(expression), { input, context, variables, field });
}
