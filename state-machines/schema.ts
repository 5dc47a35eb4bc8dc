import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { WorkflowDefinitionError } from './errors.js';

/** A JSON Schema as written by users, `as const`. */
export type JsonSchema = { readonly [key: string]: unknown };

// ajv-formats is CommonJS with a default export; under ESM interop it may arrive wrapped.
const addFormats = (
  'default' in addFormatsModule
    ? (addFormatsModule as unknown as { default: typeof addFormatsModule }).default
    : addFormatsModule
) as typeof addFormatsModule;

/**
 * The one ajv instance: strict mode (unknown keywords, ambiguous types and
 * missing `type`s are definition errors), all errors, standard formats.
 * Built on first use, so importing this module costs nothing.
 */
let instance: Ajv | undefined;
export function schemaCompiler(): Ajv {
  if (!instance) {
    instance = new Ajv({ strict: true, allErrors: true, useDefaults: false, coerceTypes: false });
    addFormats(instance);
  }
  return instance;
}

/**
 * When schemas compile: at definition (`compileSchema` throws there, naming
 * the subject) everywhere but in a deployed bundle, whose esbuild options set
 * `process.env.CHAPERONE_SCHEMA_COMPILE` to `first-use` (infra's
 * `HANDLER_BUNDLING`): there every schema was compiled already when the app
 * was synthesised, so a function's cold start compiles none and each
 * validator compiles on its first call. The variable may be set by hand to
 * the same effect.
 */
const compileOnFirstUse = (): boolean => process.env.CHAPERONE_SCHEMA_COMPILE === 'first-use';

function compileNow(subject: string, schema: JsonSchema): ValidateFunction {
  try {
    return schemaCompiler().compile(schema);
  } catch (err) {
    throw new WorkflowDefinitionError(
      subject,
      `its JSON Schema does not compile in ajv strict mode: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/**
 * A validator that compiles `schema` on its first call: the same function
 * (its `errors` set after each call) at no cost until something is validated.
 */
export function lazyValidator(subject: string, schema: JsonSchema): ValidateFunction {
  let compiled: ValidateFunction | undefined;
  const validate = ((data: unknown) => {
    compiled ??= compileNow(subject, schema);
    const ok = compiled(data);
    validate.errors = compiled.errors ?? null;
    return ok;
  }) as ValidateFunction;
  validate.errors = null;
  validate.schema = schema;
  return validate;
}

/**
 * Compile a schema, with a clear error naming the subject: at definition
 * time, or on first use in a deployed bundle (see `compileOnFirstUse`).
 */
export function compileSchema(subject: string, schema: JsonSchema): ValidateFunction {
  return compileOnFirstUse() ? lazyValidator(subject, schema) : compileNow(subject, schema);
}

/** Render ajv errors as one message a model (or a person) can act on. */
export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors || errors.length === 0) return 'invalid';
  return errors
    .map((e) => {
      const where = e.instancePath === '' ? '(root)' : e.instancePath;
      if (e.keyword === 'additionalProperties') {
        return `${where}: unknown property "${String(e.params.additionalProperty)}" is not allowed`;
      }
      if (e.keyword === 'required')
        return `${where}: missing required property "${String(e.params.missingProperty)}"`;
      if (e.keyword === 'enum') return `${where}: must be one of ${JSON.stringify(e.params.allowedValues)}`;
      return `${where}: ${e.message ?? 'is invalid'}`;
    })
    .join('; ');
}

/** The first offending field of a failed validation, as a JSON pointer. */
export function firstErrorField(errors: ErrorObject[] | null | undefined): string | undefined {
  const e = errors?.[0];
  if (!e) return undefined;
  if (e.keyword === 'required') return `${e.instancePath}/${String(e.params.missingProperty)}`;
  if (e.keyword === 'additionalProperties') return `${e.instancePath}/${String(e.params.additionalProperty)}`;
  return e.instancePath || '/';
}
