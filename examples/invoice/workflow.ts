import { agent, defineAgent, defineWorkflow } from 'chaperone';
import { findVendor, findVendorCached, lookupInvoice, schedulePayment } from './tools.js';

/** The model the example uses when a real key is configured. */
export const INVOICE_MODEL = 'claude-sonnet-4-6';

/** Reconciles an invoice against the vendor directory and schedules its payment (with approval). */
export const reconciler = defineAgent({
  name: 'reconciler',
  model: INVOICE_MODEL,
  system: [
    'You are an accounts-payable clerk. Reconcile the invoice you are given:',
    '1. look it up; 2. find its vendor and check the vendor exists;',
    '3. if the invoice is open and the vendor is known, schedule its payment for its due date with the exact amount and currency;',
    '4. answer with one short paragraph: what you checked, what you scheduled (payment id) or why you did not.',
    'Use only the tools given. Never guess ids.',
  ].join('\n'),
  tools: [lookupInvoice, findVendor, findVendorCached, schedulePayment],
  maxTokens: 1024,
});

export const invoiceWorkflow = defineWorkflow({
  name: 'invoice-reconciliation',
  description: 'Reconcile one invoice and schedule its payment after a human approves it.',
  input: {
    type: 'object',
    properties: {
      invoiceId: { type: 'string', pattern: '^INV-[0-9]{6}$' },
      note: { type: 'string', maxLength: 2000 },
    },
    required: ['invoiceId'],
    additionalProperties: false,
  } as const,
  steps: [
    agent('reconcile', {
      agent: reconciler,
      prompt: ({ input }) => {
        const { invoiceId, note } = input as { invoiceId: string; note?: string };
        return `Reconcile invoice ${invoiceId}.${note ? `\nNote from the requester: ${note}` : ''}`;
      },
    }),
  ],
  // The time limit includes the human's wait at the payment gate (at most one day).
  limits: { maxSteps: 12, maxTokens: 60_000, maxCostUsd: 1, timeLimitSeconds: 2 * 86_400 },
  approvals: { approvers: ['ap-approver@example.com'], timeoutSeconds: 86_400, onTimeout: 'reject' },
});
