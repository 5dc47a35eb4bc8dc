import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BackendError, backend } from '../../../examples/invoice/backend.js';
import { ensureTables, type LocalDynamo, startLocalDynamo } from '../../../local/aws/dynamodb.js';
import { TABLES } from '../../support/agent-harness.js';

const BACKEND_TABLE = TABLES.filter((t) => t.tableName === 'InvoiceBackend');
const REQUEST = { invoiceId: 'INV-000101', amount: 1250, currency: 'EUR', scheduledFor: '2026-12-15' };
const signal = new AbortController().signal;

let dir: string;
let dynamo: LocalDynamo;

async function startDynamo(): Promise<void> {
  dynamo = await startLocalDynamo({ dataDir: join(dir, 'dynamo') });
  await ensureTables(dynamo.client, BACKEND_TABLE);
  process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.url;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'chaperone-backend-'));
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'local';
  process.env.AWS_SECRET_ACCESS_KEY = 'local';
  process.env.INVOICE_BACKEND_TABLE = 'InvoiceBackend';
  process.env.INVOICE_BACKEND_SEED_ON_USE = '1';
  await startDynamo();
});
afterAll(async () => {
  await dynamo?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await backend.reset();
});

describe('the invoice backend (its own DynamoDB table)', () => {
  it('serves the seeded invoices and vendors', async () => {
    const invoice = await backend.lookupInvoice('INV-000101', signal);
    const vendors = await backend.findVendor({ name: 'acme' }, signal);

    expect(invoice).toMatchObject({
      invoiceId: 'INV-000101',
      vendorId: 'V-100',
      status: 'open',
      amount: 1250,
    });
    expect(invoice.lines).toHaveLength(2);
    expect(vendors.map((v) => v.vendorId)).toEqual(['V-100']);
    await expect(backend.lookupInvoice('INV-999999', signal)).rejects.toMatchObject({ status: 404 });
  });

  it('pays once per idempotency key: a repeat returns the original payment', async () => {
    const first = await backend.schedulePayment(REQUEST, {
      signal,
      idempotencyKey: 'run-1:reconcile:toolu_a',
    });
    const again = await backend.schedulePayment(REQUEST, {
      signal,
      idempotencyKey: 'run-1:reconcile:toolu_a',
    });

    expect(again).toEqual(first);
    expect(first.paymentId).toMatch(/^PAY-\d{12}$/);
    const payments = await backend.listPayments();
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({ ...first, idempotencyKey: 'run-1:reconcile:toolu_a' });
    expect((await backend.lookupInvoice('INV-000101', signal)).status).toBe('scheduled');
  });

  it('refuses another key for an invoice already scheduled, and a key reused for another request', async () => {
    const first = await backend.schedulePayment(REQUEST, { signal, idempotencyKey: 'key-1' });

    const otherKey = await backend
      .schedulePayment(REQUEST, { signal, idempotencyKey: 'key-2' })
      .catch((err: unknown) => err);
    const changed = await backend
      .schedulePayment({ ...REQUEST, scheduledFor: '2026-12-20' }, { signal, idempotencyKey: 'key-1' })
      .catch((err: unknown) => err);

    expect(otherKey).toMatchObject({ status: 409, retryable: false });
    expect(String((otherKey as Error).message)).toMatch(
      new RegExp(`invoice INV-000101 is scheduled \\(payment ${first.paymentId}\\).*another idempotency key`),
    );
    expect(changed).toMatchObject({ status: 422 });
    expect(await backend.listPayments()).toHaveLength(1);
  });

  it('lets exactly one of two concurrent calls with different keys pay', async () => {
    const outcomes = await Promise.allSettled([
      backend.schedulePayment(REQUEST, { signal, idempotencyKey: 'racer-1' }),
      backend.schedulePayment(REQUEST, { signal, idempotencyKey: 'racer-2' }),
    ]);

    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(await backend.listPayments()).toHaveLength(1);
  });

  it('keeps payments across a restart of the database process (nothing lives in module memory)', async () => {
    const paid = await backend.schedulePayment(REQUEST, { signal, idempotencyKey: 'before-restart' });
    await dynamo.close();

    await startDynamo();
    const again = await backend.schedulePayment(REQUEST, { signal, idempotencyKey: 'before-restart' });

    expect(again.paymentId).toBe(paid.paymentId);
    expect((await backend.listPayments()).map((p) => p.paymentId)).toEqual([paid.paymentId]);
  });

  it('crash-after: the payment commits, then the call dies; the retry with the same key finds it', async () => {
    const committed: unknown[] = [];
    backend.fault('schedulePayment', {
      kind: 'crash-after',
      times: 1,
      onCommitted: (p) => committed.push(p),
    });

    const crashed = await backend.schedulePayment(REQUEST, { signal, idempotencyKey: 'k-crash' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    const retried = await backend.schedulePayment(REQUEST, { signal, idempotencyKey: 'k-crash' });

    expect(crashed).toBeInstanceOf(BackendError);
    expect(crashed).toMatchObject({ name: 'BackendCrashError', retryable: false });
    expect(committed).toEqual([retried]);
    expect(await backend.listPayments()).toHaveLength(1);
    expect(backend.callCount('schedulePayment')).toBe(2);
  });

  it('keeps the throttle switch: retryable 429s, then the call goes through', async () => {
    backend.fault('lookupInvoice', { kind: 'throttle', times: 2 });

    const errors = [];
    for (let i = 0; i < 2; i++)
      errors.push(await backend.lookupInvoice('INV-000101', signal).catch((e: unknown) => e));
    const invoice = await backend.lookupInvoice('INV-000101', signal);

    expect(errors).toMatchObject([
      { status: 429, retryable: true },
      { status: 429, retryable: true },
    ]);
    expect(invoice.invoiceId).toBe('INV-000101');
  });

  it('reset removes payments and reopens the invoices', async () => {
    await backend.schedulePayment(REQUEST, { signal, idempotencyKey: 'to-forget' });

    await backend.reset();

    expect(await backend.listPayments()).toEqual([]);
    expect((await backend.lookupInvoice('INV-000101', signal)).status).toBe('open');
  });
});
