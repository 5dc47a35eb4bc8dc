/**
 * In a deployed bundle (`CHAPERONE_SCHEMA_COMPILE=first-use`, set by the
 * bundle's esbuild define) a tool's schema compiles on its first validation,
 * not at import; a schema that cannot compile still fails with the named
 * definition error, on that first use.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { WorkflowDefinitionError } from '../../../state-machines/errors.js';
import { defineTool } from '../../../state-machines/index.js';

const previous = process.env.CHAPERONE_SCHEMA_COMPILE;
afterEach(() => {
  if (previous === undefined) delete process.env.CHAPERONE_SCHEMA_COMPILE;
  else process.env.CHAPERONE_SCHEMA_COMPILE = previous;
});

const tool = (input: Record<string, unknown>) =>
  defineTool({
    name: 'lookup',
    description: 'd',
    input: input as { type: 'object' },
    access: 'read',
    run: async () => null,
  });

describe('schemas compiled on first use', () => {
  it('validates like an eagerly compiled one, errors included', () => {
    process.env.CHAPERONE_SCHEMA_COMPILE = 'first-use';
    const lazy = tool({
      type: 'object',
      properties: { q: { type: 'string' } },
      required: ['q'],
      additionalProperties: false,
    });
    delete process.env.CHAPERONE_SCHEMA_COMPILE;
    const eager = tool({
      type: 'object',
      properties: { q: { type: 'string' } },
      required: ['q'],
      additionalProperties: false,
    });
    for (const args of [{ q: 'x' }, {}, { q: 1 }, { q: 'x', extra: true }]) {
      expect(lazy.validate(args)).toBe(eager.validate(args));
      expect(lazy.validate.errors).toEqual(eager.validate.errors);
    }
  });

  it('refuses a schema that cannot compile on its first use, naming the tool', () => {
    process.env.CHAPERONE_SCHEMA_COMPILE = 'first-use';
    const bad = tool({ type: 'object', properties: { q: { type: 'string', minimum: 'x' } } });
    expect(() => bad.validate({ q: 'x' })).toThrow(WorkflowDefinitionError);
    expect(() => bad.validate({ q: 'x' })).toThrow(
      /tool "lookup": its JSON Schema does not compile in ajv strict mode/,
    );
  });
});
