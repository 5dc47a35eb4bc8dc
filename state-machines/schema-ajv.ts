/**
 * ajv for a bundle that needs it: loaded through `import()` by
 * `usePrecompiledValidators` (`schema.ts`) only when a schema has no
 * validator generated at synth, so it is a chunk of its own and no part of
 * what a cold start loads otherwise.
 */
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { AJV_OPTIONS } from './schema.js';

// ajv-formats is CommonJS with a default export; under ESM interop it may arrive wrapped.
const addFormats = (
  'default' in addFormatsModule
    ? (addFormatsModule as unknown as { default: typeof addFormatsModule }).default
    : addFormatsModule
) as typeof addFormatsModule;

/** A new ajv with Chaperone's options and the standard formats. */
export function createAjv(): Ajv {
  const ajv = new Ajv(AJV_OPTIONS);
  addFormats(ajv);
  return ajv;
}
