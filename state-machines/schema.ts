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
 */
export const ajv = new Ajv({ strict: true, allErrors: true, useDefaults: false, coerceTypes: false });
addFormats(ajv);

/** Compile a schema once, at definition time, with a clear error naming the subject. */
export function compileSchema(subject: string, schema: JsonSchema): ValidateFunction {
  try {
    return ajv.compile(schema);
  } catch (err) {
    throw new WorkflowDefinitionError(
      subject,
      `its JSON Schema does not compile in ajv strict mode: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
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
