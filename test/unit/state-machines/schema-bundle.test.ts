/**
 * In a deployed bundle (no ajv), a schema defined only after the entry took the
 * validators generated at synth fails closed on first use, saying why.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { afterAll, expect, it } from 'vitest';
import { compileSchema, type JsonSchema, usePrecompiledValidators } from '../../../state-machines/schema.js';
import { precompiledValidatorsModule } from '../../../state-machines/schema-precompile.js';

const work = mkdtempSync(join(tmpdir(), 'chaperone-schema-bundle-'));
const saved = { bundle: process.env.CHAPERONE_BUNDLE, compile: process.env.CHAPERONE_SCHEMA_COMPILE };
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  for (const [name, value] of [
    ['CHAPERONE_BUNDLE', saved.bundle],
    ['CHAPERONE_SCHEMA_COMPILE', saved.compile],
  ] as const)
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
});

it('refuses, naming the subject, a schema defined after the validators were handed over', async () => {
  const lookup = {
    type: 'object',
    properties: { id: { type: 'string' } },
    required: ['id'],
  } as const satisfies JsonSchema;
  const late = { type: 'object', properties: { n: { type: 'integer' } } } as const satisfies JsonSchema;
  const file = join(work, 'validators.mjs');
  writeFileSync(file, precompiledValidatorsModule([lookup]));
  const { validators } = (await import(pathToFileURL(file).href)) as {
    validators: ReadonlyMap<string, ValidateFunction>;
  };
  process.env.CHAPERONE_BUNDLE = '1';
  process.env.CHAPERONE_SCHEMA_COMPILE = 'first-use';

  const atImport = compileSchema('tool "lookup"', lookup);
  expect(await usePrecompiledValidators(validators)).toEqual([]);
  const definedLater = compileSchema('tool "late"', late);

  expect(atImport({})).toBe(false);
  expect(() => definedLater({ n: 1 })).toThrow(
    /^tool "late": its JSON Schema was defined after the function's entry took the validators generated at synth/,
  );
});
