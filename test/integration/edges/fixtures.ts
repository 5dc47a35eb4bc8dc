import { defineTool } from '../../../state-machines/index.js';

const idInput = {
  type: 'object',
  properties: { id: { type: 'string' } },
  required: ['id'],
  additionalProperties: false,
} as const;

/** A read tool whose answer is a short record. */
export const lookup = defineTool({
  name: 'lookup',
  description: 'Look a record up by id.',
  input: idInput,
  access: 'read',
  run: async ({ id }) => ({ id, name: `record ${id}` }),
});

/** The same tool answering a record of about 3,000 bytes: each call's input is that much larger than the last's. */
export const recordLookup = defineTool({
  name: 'lookup',
  description: 'Look a record up by id.',
  input: idInput,
  access: 'read',
  run: async ({ id }) => ({
    id,
    lines: Array.from({ length: 60 }, (_, i) => `line ${i} of record ${id}: ok`),
  }),
});
