/**
 * The validators generated at synth (ajv standalone code, what a bundle
 * validates with) report exactly what ajv compiled at definition reports: the
 * same verdicts, the same errors, the same message a model is fed back.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ValidateFunction } from 'ajv';
import { afterAll, describe, expect, it } from 'vitest';
import { compileSchema, describeErrors, type JsonSchema, schemaKey } from '../../../state-machines/schema.js';
import { precompiledValidatorsModule } from '../../../state-machines/schema-precompile.js';

const work = mkdtempSync(join(tmpdir(), 'chaperone-precompile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const payment = {
  type: 'object',
  properties: {
    invoice_id: { type: 'string', pattern: '^INV-\\d{6}$' },
    amount: { type: 'number', exclusiveMinimum: 0, maximum: 1_000_000 },
    currency: { enum: ['EUR', 'USD'] },
    scheduled_for: { type: 'string', format: 'date' },
    contact: { type: 'string', format: 'email', maxLength: 5 },
    lines: {
      type: 'array',
      minItems: 1,
      uniqueItems: true,
      items: {
        type: 'object',
        properties: { sku: { type: 'string', minLength: 1 }, qty: { type: 'integer', minimum: 1 } },
        required: ['sku', 'qty'],
        additionalProperties: false,
      },
    },
  },
  required: ['invoice_id', 'amount', 'currency'],
  additionalProperties: false,
} as const satisfies JsonSchema;

const empty = { type: 'object', properties: {}, additionalProperties: false } as const satisfies JsonSchema;

const inputs: unknown[] = [
  { invoice_id: 'INV-000101', amount: 1250, currency: 'EUR', scheduled_for: '2026-12-15' },
  { invoice_id: 'INV-1', amount: 0, currency: 'GBP', scheduled_for: '2026-02-30', extra: 1 },
  { amount: '12' },
  { invoice_id: 'INV-000101', amount: 1, currency: 'USD', contact: 'ü@b.cd' },
  { invoice_id: 'INV-000101', amount: 1, currency: 'USD', contact: 'not-an-email' },
  { invoice_id: 'INV-000101', amount: 1, currency: 'USD', lines: [] },
  {
    invoice_id: 'INV-000101',
    amount: 1,
    currency: 'USD',
    lines: [{ sku: '', qty: 0.5, note: 'x' }, { qty: 1 }, { qty: 1 }],
  },
  'a string',
  null,
];

describe('precompiled validators', () => {
  it('give the verdicts, errors and messages of ajv compiled at definition', async () => {
    const file = join(work, 'validators.mjs');
    writeFileSync(file, precompiledValidatorsModule([payment, empty, payment]));
    const { validators } = (await import(pathToFileURL(file).href)) as {
      validators: ReadonlyMap<string, ValidateFunction>;
    };
    // Equal schemas share one entry.
    expect([...validators.keys()]).toEqual([schemaKey(payment), schemaKey(empty)]);
    for (const schema of [payment, empty]) {
      const generated = validators.get(schemaKey(schema));
      const compiled = compileSchema('the test schema', schema);
      expect(generated).toBeTypeOf('function');
      for (const input of [...inputs, {}]) {
        const verdict = generated?.(input);
        expect(verdict).toBe(compiled(input));
        expect(generated?.errors ?? null).toEqual(compiled.errors ?? null);
        expect(describeErrors(generated?.errors)).toBe(describeErrors(compiled.errors));
      }
    }
    // And the messages are the ones a model can act on.
    const generated = validators.get(schemaKey(payment));
    generated?.(inputs[1]);
    expect(describeErrors(generated?.errors)).toContain('unknown property "extra" is not allowed');
    expect(describeErrors(generated?.errors)).toContain('/scheduled_for: must match format "date"');
  });

  it('resolve a schema’s $ref to another schema of the app by its $id, as compiled ajv does', async () => {
    const money = {
      $id: 'https://example.com/schemas/money',
      type: 'object',
      properties: { cents: { type: 'integer' }, currency: { enum: ['EUR', 'USD'] } },
      required: ['cents', 'currency'],
      additionalProperties: false,
    } as const satisfies JsonSchema;
    const refund = {
      type: 'object',
      properties: { reason: { type: 'string' }, amount: { $ref: 'https://example.com/schemas/money' } },
      required: ['amount'],
      additionalProperties: false,
    } as const satisfies JsonSchema;
    // Compiled at definition, in the order an app defines them, the reference resolves.
    const compiledMoney = compileSchema('the money schema', money);
    const compiledRefund = compileSchema('the refund schema', refund);
    const file = join(work, 'validators-ref.mjs');
    writeFileSync(file, precompiledValidatorsModule([money, refund]));
    const { validators } = (await import(pathToFileURL(file).href)) as {
      validators: ReadonlyMap<string, ValidateFunction>;
    };
    const generated = validators.get(schemaKey(refund));
    for (const input of [
      { amount: { cents: 120, currency: 'EUR' } },
      { reason: 'late', amount: { cents: 1.5, currency: 'GBP', note: 'x' } },
      { amount: 'twelve' },
    ]) {
      expect(generated?.(input)).toBe(compiledRefund(input));
      expect(generated?.errors ?? null).toEqual(compiledRefund.errors ?? null);
    }
    expect(validators.get(schemaKey(money))?.({ cents: 1 })).toBe(compiledMoney({ cents: 1 }));
    expect(describeErrors(generated?.errors)).toBe('/amount: must be object');
  });
});
