import * as jsonpath from './jsonpath/index.js';

/**
 * The JSONPath half of the interpreter (paths, payload templates, ResultPath,
 * Choice rules, intrinsics) lives in `./jsonpath/`; states reach it through
 * this narrow interface.
 */
export interface JsonPathModule {
  queryPath(path: string, input: unknown, context: unknown, variables: Record<string, unknown>): unknown;
  applyPayloadTemplate(
    template: unknown,
    input: unknown,
    context: unknown,
    variables: Record<string, unknown>,
  ): unknown;
  applyResultPath(stateInput: unknown, result: unknown, resultPath: string | null | undefined): unknown;
  applyInputOutputPath(
    value: unknown,
    path: string | null | undefined,
    context: unknown,
    variables: Record<string, unknown>,
  ): unknown;
  evaluateChoiceRule(
    rule: Record<string, unknown>,
    input: unknown,
    context: unknown,
    variables: Record<string, unknown>,
  ): boolean;
  queryPathForField(
    path: string,
    field: string,
    input: unknown,
    context: unknown,
    variables: Record<string, unknown>,
  ): unknown;
  evaluateIntrinsic(
    expression: string,
    input: unknown,
    context: unknown,
    variables: Record<string, unknown>,
  ): unknown;
}

const loaded: Promise<JsonPathModule> = Promise.resolve(jsonpath);

/** The JSONPath module. */
export function loadJsonPath(): Promise<JsonPathModule> {
  return loaded;
}
