import { DefinitionError } from './errors.js';
import { compile, expressionText, isJsonataString } from './jsonata-eval.js';
import { isObject, type MachineDef, type QueryLanguage, type StateDef } from './types.js';

const STATE_TYPES = new Set(['Pass', 'Task', 'Choice', 'Wait', 'Succeed', 'Fail', 'Parallel', 'Map']);

/** Fields only a JSONata state may use. */
const JSONATA_ONLY = ['Arguments', 'Output', 'Items'];
/** Fields only a JSONPath state may use. */
const JSONPATH_ONLY = [
  'Parameters',
  'InputPath',
  'OutputPath',
  'ResultPath',
  'ResultSelector',
  'ItemsPath',
  'SecondsPath',
  'TimestampPath',
  'TimeoutSecondsPath',
  'HeartbeatSecondsPath',
  'ErrorPath',
  'CausePath',
  'MaxConcurrencyPath',
  'ToleratedFailureCountPath',
  'ToleratedFailurePercentagePath',
];

/** Resources the interpreter knows how to run. */
export type ResourceKind =
  | { kind: 'lambda-invoke'; waitForToken: boolean }
  | { kind: 'lambda-arn'; functionArn: string }
  | { kind: 'callback-transport'; service: 'sqs' | 'sns' }
  | { kind: 'unsupported'; resource: string };

/** Classifies a Task `Resource`. */
export function classifyResource(resource: string): ResourceKind {
  if (/^arn:aws[a-z-]*:states:::lambda:invoke$/.test(resource))
    return { kind: 'lambda-invoke', waitForToken: false };
  if (/^arn:aws[a-z-]*:states:::lambda:invoke\.waitForTaskToken$/.test(resource))
    return { kind: 'lambda-invoke', waitForToken: true };
  if (/^arn:aws[a-z-]*:lambda:[^:]+:\d{12}:function:[^:]+(:[^:]+)?$/.test(resource))
    return { kind: 'lambda-arn', functionArn: resource };
  if (/^arn:aws[a-z-]*:states:::sqs:sendMessage\.waitForTaskToken$/.test(resource))
    return { kind: 'callback-transport', service: 'sqs' };
  if (/^arn:aws[a-z-]*:states:::sns:publish\.waitForTaskToken$/.test(resource))
    return { kind: 'callback-transport', service: 'sns' };
  return { kind: 'unsupported', resource };
}

/** Options for {@link parseDefinition}. */
export interface ParseOptions {
  /** Accept Task resources the interpreter cannot run; they fail at run time with States.Runtime. */
  allowUnsupportedResources?: boolean;
}

/** Parses and validates a definition; throws DefinitionError naming the state and field. */
export function parseDefinition(definition: object | string, opts: ParseOptions = {}): MachineDef {
  let raw: unknown = definition;
  if (typeof definition === 'string') {
    try {
      raw = JSON.parse(definition);
    } catch (err) {
      throw new DefinitionError(undefined, undefined, `not valid JSON: ${String(err)}`);
    }
  }
  if (!isObject(raw)) throw new DefinitionError(undefined, undefined, 'must be a JSON object');
  const ql = raw.QueryLanguage ?? 'JSONPath';
  if (ql !== 'JSONata' && ql !== 'JSONPath')
    throw new DefinitionError(undefined, 'QueryLanguage', `unknown query language ${String(ql)}`);
  if (
    raw.TimeoutSeconds !== undefined &&
    (typeof raw.TimeoutSeconds !== 'number' || raw.TimeoutSeconds <= 0)
  ) {
    throw new DefinitionError(undefined, 'TimeoutSeconds', 'must be a positive number');
  }
  validateMachine(raw, ql, opts, '');
  return raw as unknown as MachineDef;
}

function validateMachine(
  raw: Record<string, unknown>,
  ql: QueryLanguage,
  opts: ParseOptions,
  where: string,
): void {
  if (typeof raw.StartAt !== 'string')
    throw new DefinitionError(undefined, `${where}StartAt`, 'missing StartAt');
  if (!isObject(raw.States)) throw new DefinitionError(undefined, `${where}States`, 'missing States');
  const states = raw.States;
  if (!(raw.StartAt in states))
    throw new DefinitionError(undefined, `${where}StartAt`, `StartAt "${raw.StartAt}" is not a state`);
  for (const [name, state] of Object.entries(states)) {
    if (!isObject(state)) throw new DefinitionError(name, undefined, 'state must be an object');
    validateState(name, state, states, ql, opts);
  }
}

function requireTarget(name: string, field: string, target: unknown, states: Record<string, unknown>): void {
  if (typeof target !== 'string' || !(target in states)) {
    throw new DefinitionError(name, field, `transition to missing state "${String(target)}"`);
  }
}

function validateState(
  name: string,
  s: Record<string, unknown>,
  states: Record<string, unknown>,
  parentQl: QueryLanguage,
  opts: ParseOptions,
): void {
  const type = s.Type;
  if (typeof type !== 'string' || !STATE_TYPES.has(type))
    throw new DefinitionError(name, 'Type', `unknown state type ${String(type)}`);
  const stateQl = s.QueryLanguage ?? parentQl;
  if (stateQl !== 'JSONata' && stateQl !== 'JSONPath')
    throw new DefinitionError(name, 'QueryLanguage', `unknown query language ${String(stateQl)}`);
  const ql = stateQl as QueryLanguage;
  const forbidden = ql === 'JSONata' ? JSONPATH_ONLY : JSONATA_ONLY;
  for (const f of forbidden) {
    if (f in s) throw new DefinitionError(name, f, `field not allowed in a ${ql} state`);
  }
  if (ql === 'JSONPath') {
    for (const f of ['Condition'])
      if (f in s) throw new DefinitionError(name, f, 'field not allowed in a JSONPath state');
  }
  const terminal = type === 'Succeed' || type === 'Fail' || type === 'Choice';
  if (!terminal) {
    if (s.End === true) {
      if ('Next' in s) throw new DefinitionError(name, 'Next', 'a state cannot have both Next and End');
    } else requireTarget(name, 'Next', s.Next, states);
  }
  for (const f of ['Retry', 'Catch']) {
    if (f in s && type !== 'Task' && type !== 'Map' && type !== 'Parallel') {
      throw new DefinitionError(name, f, `field not allowed in a ${type} state`);
    }
  }
  if (Array.isArray(s.Catch)) {
    s.Catch.forEach((c, i) => {
      if (!isObject(c)) throw new DefinitionError(name, `Catch[${i}]`, 'must be an object');
      requireTarget(name, `Catch[${i}].Next`, c.Next, states);
      if (!Array.isArray(c.ErrorEquals))
        throw new DefinitionError(name, `Catch[${i}].ErrorEquals`, 'must be an array');
    });
  }
  if (Array.isArray(s.Retry)) {
    s.Retry.forEach((r, i) => {
      if (!isObject(r) || !Array.isArray(r.ErrorEquals))
        throw new DefinitionError(name, `Retry[${i}].ErrorEquals`, 'must be an array');
    });
  }
  if (type === 'Choice') {
    if (!Array.isArray(s.Choices) || s.Choices.length === 0)
      throw new DefinitionError(name, 'Choices', 'must be a non-empty array');
    s.Choices.forEach((c, i) => {
      if (!isObject(c)) throw new DefinitionError(name, `Choices[${i}]`, 'must be an object');
      requireTarget(name, `Choices[${i}].Next`, c.Next, states);
      if (ql === 'JSONata' && !isJsonataString(c.Condition) && typeof c.Condition !== 'boolean') {
        throw new DefinitionError(name, `Choices[${i}].Condition`, 'a JSONata Choice rule needs a Condition');
      }
    });
    if (s.Default !== undefined) requireTarget(name, 'Default', s.Default, states);
  }
  if (type === 'Task') {
    if (typeof s.Resource !== 'string') throw new DefinitionError(name, 'Resource', 'missing Resource');
    const kind = classifyResource(s.Resource);
    if (kind.kind === 'unsupported' && !opts.allowUnsupportedResources) {
      throw new DefinitionError(name, 'Resource', `unsupported resource ${s.Resource}`);
    }
  }
  if (type === 'Parallel') {
    if (!Array.isArray(s.Branches) || s.Branches.length === 0)
      throw new DefinitionError(name, 'Branches', 'must be a non-empty array');
    s.Branches.forEach((b, i) => {
      if (!isObject(b)) throw new DefinitionError(name, `Branches[${i}]`, 'must be an object');
      validateMachine(b, (b.QueryLanguage as QueryLanguage | undefined) ?? ql, opts, `Branches[${i}].`);
    });
  }
  if (type === 'Map') {
    const proc = s.ItemProcessor ?? s.Iterator;
    const field = s.ItemProcessor ? 'ItemProcessor' : 'Iterator';
    if (!isObject(proc)) throw new DefinitionError(name, 'ItemProcessor', 'missing ItemProcessor');
    validateMachine(proc, (proc.QueryLanguage as QueryLanguage | undefined) ?? ql, opts, `${field}.`);
  }
  if (ql === 'JSONata') checkExpressions(name, s, '');
}

/** Compiles every `{% %}` string of a JSONata state so syntax errors surface at registration. */
function checkExpressions(name: string, value: unknown, field: string): void {
  if (isJsonataString(value)) {
    try {
      compile(expressionText(value), field);
    } catch (err) {
      throw new DefinitionError(name, field || undefined, err instanceof Error ? err.message : String(err));
    }
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) checkExpressions(name, v, `${field}[${i}]`);
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'ItemProcessor' || k === 'Iterator' || k === 'Branches') continue;
      checkExpressions(name, v, field ? `${field}/${k}` : k);
    }
  }
}

/** The effective query language of a state inside a machine. */
export function queryLanguageOf(state: StateDef, machineQl: QueryLanguage): QueryLanguage {
  return state.QueryLanguage === 'JSONata' || state.QueryLanguage === 'JSONPath'
    ? state.QueryLanguage
    : machineQl;
}
