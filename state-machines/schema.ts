import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, Options, ValidateFunction } from 'ajv';
import { WorkflowDefinitionError } from './errors.js';

/** A JSON Schema as written by users, `as const`. */
export type JsonSchema = { readonly [key: string]: unknown };

/**
 * The options of every validator: strict mode (unknown keywords, ambiguous
 * types and missing `type`s are definition errors), all errors, standard
 * formats (ajv-formats), no defaults or coercion. The same for a schema
 * compiled here, in `schema-ajv.ts` (a bundle's fallback) and in
 * `schema-precompile.ts` (the validators generated at synth), so every path
 * reports the same errors.
 */
export const AJV_OPTIONS: Options = { strict: true, allErrors: true, useDefaults: false, coerceTypes: false };

/**
 * In a deployed bundle `process.env.CHAPERONE_BUNDLE` is the constant `"1"`
 * (an esbuild `define` of `HANDLER_BUNDLING`; it is never read from the
 * environment there): ajv is then not part of the code a cold start loads.
 * Every schema's validator was generated at synth as standalone code
 * (`schema-precompile.ts`) and the function's entry hands them over with
 * {@link usePrecompiledValidators}; only if one is missing does the entry
 * load ajv (a chunk of its own) before the first invocation.
 */
const inBundle = (): boolean => process.env.CHAPERONE_BUNDLE === '1';

/** ajv, as a bundle loaded it (`schema-ajv.ts`), or undefined. */
let loadedCompiler: (() => Ajv) | undefined;

/**
 * The one ajv instance ({@link AJV_OPTIONS}, with ajv-formats), built on
 * first use so importing this module costs nothing. Outside a bundle ajv is
 * loaded synchronously from the installed package; in a bundle only once the
 * entry loaded it (see {@link usePrecompiledValidators}).
 */
let instance: Ajv | undefined;
export function schemaCompiler(): Ajv {
  if (instance) return instance;
  if (inBundle()) {
    if (!loadedCompiler)
      throw new Error(
        'ajv is not loaded in this bundle: every validator should have been generated at synth (usePrecompiledValidators)',
      );
    instance = loadedCompiler();
    return instance;
  }
  const load = createRequire(import.meta.url);
  const { Ajv: AjvClass } = load('ajv') as typeof import('ajv');
  const formats = load('ajv-formats') as typeof import('ajv-formats');
  // ajv-formats is CommonJS with a default export; under ESM interop it may arrive wrapped.
  const addFormats = (
    'default' in formats ? formats.default : formats
  ) as typeof import('ajv-formats').default;
  instance = new AjvClass(AJV_OPTIONS);
  addFormats(instance);
  return instance;
}

/**
 * When schemas compile: at definition (`compileSchema` throws there, naming
 * the subject) everywhere but in a deployed bundle, whose esbuild options set
 * `process.env.CHAPERONE_SCHEMA_COMPILE` to `first-use` (infra's
 * `HANDLER_BUNDLING`): there every schema was compiled already when the app
 * was synthesised, so a function's cold start compiles none and each
 * validator is taken from the ones generated at synth (or, failing that,
 * compiles) on its first call. The variable may be set by hand to the same
 * effect.
 */
const compileOnFirstUse = (): boolean => process.env.CHAPERONE_SCHEMA_COMPILE === 'first-use';

/** Every schema given to {@link compileSchema} or {@link lazyValidator} in this process, in order. */
const defined: Array<{ readonly subject: string; readonly schema: JsonSchema }> = [];

/**
 * The schemas defined so far in this process (by the workflows module and
 * Chaperone's own modules, as they were imported), each with the subject its
 * errors name: what synth generates standalone validators for.
 */
export function definedSchemas(): ReadonlyArray<{ readonly subject: string; readonly schema: JsonSchema }> {
  return defined;
}

/** The key of a schema among precompiled validators: its JSON text. */
export const schemaKey = (schema: JsonSchema): string => JSON.stringify(schema);

let precompiled: ReadonlyMap<string, ValidateFunction> = new Map();

/**
 * Hand over validators generated at synth (schema key → standalone
 * validator, see `schema-precompile.ts`): each lazy validator whose schema is
 * among them uses it on its first call instead of compiling. In a bundle, if
 * any schema defined so far has none, ajv is loaded (its own chunk) before
 * this resolves, so that schema still compiles on first use; returns the
 * subjects that will compile that way (none when synth saw every schema).
 */
export async function usePrecompiledValidators(
  validators: ReadonlyMap<string, ValidateFunction>,
): Promise<string[]> {
  precompiled = validators;
  const missing = defined.filter(({ schema }) => !validators.has(schemaKey(schema))).map((d) => d.subject);
  if (missing.length > 0 && inBundle() && !loadedCompiler) {
    const { createAjv } = await import('./schema-ajv.js');
    loadedCompiler = createAjv;
  }
  return missing;
}

function compileNow(subject: string, schema: JsonSchema): ValidateFunction {
  if (!instance && !loadedCompiler && inBundle())
    throw new WorkflowDefinitionError(
      subject,
      "its JSON Schema was defined after the function's entry took the validators generated at synth, " +
        'and this bundle carries no ajv to compile it: define every schema when the workflows module is imported',
    );
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
 * A validator that compiles `schema` on its first call (or takes the one
 * generated at synth): the same function (its `errors` set after each call)
 * at no cost until something is validated.
 */
export function lazyValidator(subject: string, schema: JsonSchema): ValidateFunction {
  defined.push({ subject, schema });
  let compiled: ValidateFunction | undefined;
  const validate = ((data: unknown) => {
    compiled ??= precompiled.get(schemaKey(schema)) ?? compileNow(subject, schema);
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
  if (compileOnFirstUse()) return lazyValidator(subject, schema);
  defined.push({ subject, schema });
  return compileNow(subject, schema);
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
