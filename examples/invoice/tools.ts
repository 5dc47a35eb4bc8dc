import { defineTool } from 'chaperone';

/**
 * The backend (and the AWS SDK client it holds) loads where a tool runs, the
 * first time it runs: every other function imports these definitions for
 * their names and schemas only, and keeps the backend out of its cold start.
 */
const backend = async () => (await import('./backend.js')).backend;

/** Read: one invoice by id. The pattern is the seed's own example. */
export const lookupInvoice = defineTool({
  name: 'lookup_invoice',
  description:
    'Look up one invoice by its id (INV- followed by six digits). Returns vendor, amount, currency, status, due date and lines.',
  input: {
    type: 'object',
    properties: { invoice_id: { type: 'string', pattern: '^INV-[0-9]{6}$' } },
    required: ['invoice_id'],
    additionalProperties: false,
  } as const,
  access: 'read',
  timeoutSeconds: 10,
  retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 2000 },
  trim: { maxBytes: 4096 },
  run: async ({ invoice_id }, { signal }) => (await backend()).lookupInvoice(invoice_id, signal),
});

const vendorQuery = {
  type: 'object',
  properties: {
    vendor_id: { type: 'string', pattern: '^V-[0-9]{3}$' },
    name: { type: 'string', minLength: 2, maxLength: 100 },
  },
  additionalProperties: false,
  minProperties: 1,
} as const;

/** Read: the vendor directory's stale cache; the fallback when the live directory is down. */
export const findVendorCached = defineTool({
  name: 'find_vendor_cached',
  description:
    'Find vendors in the cached vendor directory (may be up to a day old). Use find_vendor instead when possible.',
  input: vendorQuery,
  access: 'read',
  timeoutSeconds: 5,
  retry: { maxAttempts: 1 },
  run: async ({ vendor_id, name }) => (await backend()).findVendorCached({ vendorId: vendor_id, name }),
});

/** Read: the live vendor directory. */
export const findVendor = defineTool({
  name: 'find_vendor',
  description:
    'Find vendors by vendor id (V- followed by three digits) or by part of their name. Returns id, name, IBAN and country.',
  input: vendorQuery,
  access: 'read',
  timeoutSeconds: 10,
  retry: { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 2000 },
  fallback: 'find_vendor_cached',
  trim: { maxBytes: 2048, fields: ['vendorId', 'name', 'iban', 'country'] },
  run: async ({ vendor_id, name }, { signal }) =>
    (await backend()).findVendor({ vendorId: vendor_id, name }, signal),
});

/** Write: moves money, so it waits for a human approval by default. */
export const schedulePayment = defineTool({
  name: 'schedule_payment',
  description:
    'Schedule payment of an open invoice to its vendor. amount and currency must match the invoice exactly. Needs human approval.',
  input: {
    type: 'object',
    properties: {
      invoice_id: { type: 'string', pattern: '^INV-[0-9]{6}$' },
      amount: { type: 'number', exclusiveMinimum: 0 },
      currency: { type: 'string', enum: ['USD', 'EUR', 'GBP'] },
      scheduled_for: { type: 'string', format: 'date' },
    },
    required: ['invoice_id', 'amount', 'currency', 'scheduled_for'],
    additionalProperties: false,
  } as const,
  access: 'write',
  timeoutSeconds: 20,
  retry: { maxAttempts: 2, baseDelayMs: 500, maxDelayMs: 2000 },
  // The backend deduplicates by the idempotency key, so re-running a call whose outcome is unknown pays once.
  idempotent: true,
  run: async ({ invoice_id, amount, currency, scheduled_for }, { signal, idempotencyKey }) =>
    (await backend()).schedulePayment(
      { invoiceId: invoice_id, amount, currency, scheduledFor: scheduled_for },
      { signal, idempotencyKey },
    ),
});

/** Destructive: removes an invoice. No agent in the example may call it; it is here to be refused. */
export const voidInvoice = defineTool({
  name: 'void_invoice',
  description: 'Permanently void (delete) an invoice.',
  input: {
    type: 'object',
    properties: { invoice_id: { type: 'string', pattern: '^INV-[0-9]{6}$' } },
    required: ['invoice_id'],
    additionalProperties: false,
  } as const,
  access: 'destructive',
  timeoutSeconds: 10,
  run: async ({ invoice_id }, { signal }) => (await backend()).voidInvoice(invoice_id, signal),
});
