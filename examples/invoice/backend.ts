/**
 * The accounts-payable backend of the invoice example: invoices, vendors and
 * payments in a DynamoDB table of its own (`INVOICE_BACKEND_TABLE`; dynalite
 * locally through `AWS_ENDPOINT_URL_DYNAMODB`), so a restarted process sees
 * what was paid. `schedulePayment` deduplicates by idempotency key the way a
 * payments API does. Fault switches (throttling, outages, hangs, a crash
 * right after a payment committed) live in module memory: they are test
 * controls, not data.
 */
import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { SEED_INVOICES, SEED_VENDORS } from './backend-seed.js';

export interface Invoice {
  invoiceId: string;
  vendorId: string;
  amount: number;
  currency: 'USD' | 'EUR' | 'GBP';
  status: 'open' | 'paid' | 'scheduled';
  dueDate: string;
  lines: Array<{ sku: string; description: string; quantity: number; unitPrice: number }>;
}

export interface Vendor {
  vendorId: string;
  name: string;
  iban: string;
  country: string;
}

export interface Payment {
  paymentId: string;
  invoiceId: string;
  amount: number;
  currency: string;
  scheduledFor: string;
}

/** A payment as stored: with the idempotency key it was made under and when. */
export interface PaymentRecord extends Payment {
  idempotencyKey: string;
  createdAt: string;
}

/**
 * A fault on one operation: fails the next `times` calls (or every call).
 * `crash-after` lets the operation commit, then fails as a dying process
 * would: it calls `onCommitted` (a test's hook), kills the process with
 * SIGKILL when `exit` is set, else throws the non-retryable
 * {@link BackendCrashError}. "The side effect happened, then the process died."
 */
export type Fault =
  | { kind: 'throttle'; times?: number; retryAfterSeconds?: number }
  | { kind: 'error'; times?: number; message?: string }
  | { kind: 'hang'; times?: number }
  | { kind: 'crash-after'; times?: number; exit?: boolean; onCommitted?: (result: unknown) => void };

/** An error the backend raises; `status` mirrors what an HTTP API would answer. */
export class BackendError extends Error {
  override readonly name: string = 'BackendError';
  constructor(
    message: string,
    readonly status: number,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Raised by a `crash-after` fault once the operation has committed: what a dead process leaves. */
export class BackendCrashError extends BackendError {
  override readonly name = 'BackendCrashError';
  constructor(operation: string) {
    super(`the process died after ${operation} committed (injected crash-after fault)`, 500, false);
  }
}

const faults = new Map<string, Fault & { remaining: number }>();
const calls = new Map<string, number>();
const clients = new Map<string, DynamoDBDocumentClient>();
const seeded = new Map<string, Promise<void>>();

/** Where the backend's data lives, read from the environment at each call (tests restart dynalite). */
function config(): { db: DynamoDBDocumentClient; table: string } {
  const table = process.env.INVOICE_BACKEND_TABLE;
  if (!table)
    throw new BackendError('INVOICE_BACKEND_TABLE is not set: the invoice backend has no table', 500, false);
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const key = `${region} ${endpoint ?? ''}`;
  let db = clients.get(key);
  if (!db) {
    const client = new DynamoDBClient({ region, maxAttempts: 3, ...(endpoint ? { endpoint } : {}) });
    db = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    clients.set(key, db);
  }
  return { db, table };
}

/**
 * The table, seeded once per table and endpoint on first use (conditional
 * puts: a reseed never overwrites) where the demo runs locally. In AWS the
 * stack seeds it at deploy (examples/invoice/app.ts), and the read tools'
 * roles could not write the seed anyway.
 */
async function open(): Promise<{ db: DynamoDBDocumentClient; table: string }> {
  const c = config();
  if (process.env.CHAPERONE_LOCAL !== '1' && process.env.INVOICE_BACKEND_SEED_ON_USE !== '1') return c;
  const key = `${process.env.AWS_ENDPOINT_URL_DYNAMODB ?? ''} ${c.table}`;
  let done = seeded.get(key);
  if (!done) {
    done = seed(c.db, c.table).catch((err: unknown) => {
      seeded.delete(key);
      throw wrap('seed', err);
    });
    seeded.set(key, done);
  }
  await done;
  return c;
}

async function seed(db: DynamoDBDocumentClient, table: string): Promise<void> {
  const items = [
    ...SEED_VENDORS.map((v) => ({ pk: `VENDOR#${v.vendorId}`, sk: 'META', ...v })),
    ...SEED_INVOICES.map((i) => ({ pk: `INVOICE#${i.invoiceId}`, sk: 'META', ...i })),
  ];
  for (const Item of items) await putIfAbsent(db, table, Item);
}

async function putIfAbsent(db: DynamoDBDocumentClient, table: string, Item: Record<string, unknown>) {
  try {
    await db.send(
      new PutCommand({ TableName: table, Item, ConditionExpression: 'attribute_not_exists(pk)' }),
    );
  } catch (err) {
    if ((err as { name?: unknown }).name !== 'ConditionalCheckFailedException') throw err;
  }
}

/** Every item whose `pk` starts with `prefix` (a scan: the demo table is small). */
async function scan(
  db: DynamoDBDocumentClient,
  table: string,
  prefix: string,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: table,
        FilterExpression: 'begins_with(pk, :p)',
        ExpressionAttributeValues: { ':p': prefix },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    out.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

/** An SDK failure as a backend error: throttling and 5xx are retryable, the rest is not. */
function wrap(operation: string, err: unknown): BackendError {
  if (err instanceof BackendError) return err;
  const e = err as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode ?? 503;
  const throttled = e.name === 'ThrottlingException' || e.name === 'ProvisionedThroughputExceededException';
  return new BackendError(
    `${operation}: the backend's store failed: ${String(e.name)}: ${String(e.message)}`,
    throttled ? 429 : status,
    throttled || status >= 500 || e.$metadata === undefined,
    { cause: err },
  );
}

const toInvoice = ({ pk: _p, sk: _s, paymentId: _id, ...rest }: Record<string, unknown>) =>
  rest as unknown as Invoice;
const toVendor = ({ pk: _p, sk: _s, ...rest }: Record<string, unknown>) => rest as unknown as Vendor;
const toPaymentRecord = ({ pk: _p, sk: _s, ...rest }: Record<string, unknown>) =>
  rest as unknown as PaymentRecord;
const toPayment = ({ paymentId, invoiceId, amount, currency, scheduledFor }: PaymentRecord): Payment => ({
  paymentId,
  invoiceId,
  amount,
  currency,
  scheduledFor,
});

function matches(v: Vendor, query: { vendorId?: string; name?: string }): boolean {
  return (
    (query.vendorId === undefined || v.vendorId === query.vendorId) &&
    (query.name === undefined || v.name.toLowerCase().includes(query.name.toLowerCase()))
  );
}

/** The payment request of {@link backend.schedulePayment}. */
export interface PaymentRequest {
  invoiceId: string;
  amount: number;
  currency: string;
  scheduledFor: string;
}

/** The backend's operations, its fault switches and the read API tests and `npm run chaos` use. */
export const backend = {
  /** Deletes payments and restores the seeded invoices and vendors; clears faults and call counts. */
  async reset(): Promise<void> {
    faults.clear();
    calls.clear();
    const { db, table } = config();
    for (const prefix of ['PAYMENT#', 'INVOICE#', 'VENDOR#']) {
      for (const item of await scan(db, table, prefix))
        await db.send(new DeleteCommand({ TableName: table, Key: { pk: item.pk, sk: item.sk } }));
    }
    await seed(db, table);
    seeded.set(`${process.env.AWS_ENDPOINT_URL_DYNAMODB ?? ''} ${table}`, Promise.resolve());
  },
  /** Switch a fault on for an operation (`lookupInvoice`, `findVendor`, `schedulePayment`, ...). */
  fault(operation: string, fault: Fault): void {
    faults.set(operation, { ...fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  },
  /** How many times an operation was called in this process since the last reset. */
  callCount(operation: string): number {
    return calls.get(operation) ?? 0;
  },
  /** Every payment in the table, oldest first, with the key it was made under. */
  async listPayments(): Promise<PaymentRecord[]> {
    const { db, table } = await open();
    const items = (await scan(db, table, 'PAYMENT#')).map(toPaymentRecord);
    return items.sort(
      (a, b) => a.createdAt.localeCompare(b.createdAt) || a.paymentId.localeCompare(b.paymentId),
    );
  },
  /** Adds an invoice unless one with its id exists (chaos runs give each run an invoice of its own). */
  async addInvoice(invoice: Invoice): Promise<void> {
    const { db, table } = await open();
    await putIfAbsent(db, table, { pk: `INVOICE#${invoice.invoiceId}`, sk: 'META', ...invoice });
  },

  async lookupInvoice(invoiceId: string, signal: AbortSignal): Promise<Invoice> {
    await enter('lookupInvoice', signal);
    const { db, table } = await open();
    const res = await db
      .send(
        new GetCommand({
          TableName: table,
          Key: { pk: `INVOICE#${invoiceId}`, sk: 'META' },
          ConsistentRead: true,
        }),
      )
      .catch((err: unknown) => {
        throw wrap('lookupInvoice', err);
      });
    if (!res.Item) throw new BackendError(`invoice ${invoiceId} not found`, 404, false);
    return toInvoice(res.Item);
  },

  async findVendor(query: { vendorId?: string; name?: string }, signal: AbortSignal): Promise<Vendor[]> {
    await enter('findVendor', signal);
    const { db, table } = await open();
    const items = await scan(db, table, 'VENDOR#').catch((err: unknown) => {
      throw wrap('findVendor', err);
    });
    return items
      .map(toVendor)
      .filter((v) => matches(v, query))
      .sort((a, b) => a.vendorId.localeCompare(b.vendorId));
  },

  /** A stale but always-available copy of the vendor directory (the fallback): the seed, in memory. */
  async findVendorCached(query: { vendorId?: string; name?: string }): Promise<Vendor[]> {
    calls.set('findVendorCached', (calls.get('findVendorCached') ?? 0) + 1);
    return SEED_VENDORS.filter((v) => matches(v, query)).map((v) => ({ ...v }));
  },

  /**
   * Schedules payment of an open invoice, once per idempotency key: one
   * transaction creates `PAYMENT#<key>` (if absent) and flips the invoice
   * from open to scheduled. The same key again returns the original payment;
   * another key for an invoice already scheduled is refused (409).
   */
  async schedulePayment(
    request: PaymentRequest,
    context: { signal: AbortSignal; idempotencyKey: string },
  ): Promise<Payment> {
    const fault = await enter('schedulePayment', context.signal);
    const { idempotencyKey } = context;
    if (!idempotencyKey) throw new BackendError('an Idempotency-Key is required', 400, false);
    const { db, table } = await open();
    try {
      const earlier = await paymentUnder(db, table, idempotencyKey);
      if (earlier) return sameRequest(earlier, request);
      const invoice = await db.send(
        new GetCommand({
          TableName: table,
          Key: { pk: `INVOICE#${request.invoiceId}`, sk: 'META' },
          ConsistentRead: true,
        }),
      );
      if (!invoice.Item) throw new BackendError(`invoice ${request.invoiceId} not found`, 404, false);
      const inv = toInvoice(invoice.Item);
      if (inv.status !== 'open')
        throw alreadyScheduled(request.invoiceId, inv.status, invoice.Item.paymentId);
      if (Math.abs(inv.amount - request.amount) > 0.005 || inv.currency !== request.currency) {
        throw new BackendError(
          `amount ${request.amount} ${request.currency} does not match invoice ${inv.amount} ${inv.currency}`,
          422,
          false,
        );
      }
      const record: PaymentRecord = {
        paymentId: paymentIdOf(idempotencyKey),
        ...request,
        idempotencyKey,
        createdAt: new Date().toISOString(),
      };
      try {
        await db.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Put: {
                  TableName: table,
                  Item: { pk: `PAYMENT#${idempotencyKey}`, sk: 'META', ...record },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
              {
                Update: {
                  TableName: table,
                  Key: { pk: `INVOICE#${request.invoiceId}`, sk: 'META' },
                  UpdateExpression: 'SET #status = :scheduled, paymentId = :paymentId',
                  ConditionExpression: '#status = :open',
                  ExpressionAttributeNames: { '#status': 'status' },
                  ExpressionAttributeValues: {
                    ':scheduled': 'scheduled',
                    ':open': 'open',
                    ':paymentId': record.paymentId,
                  },
                },
              },
            ],
          }),
        );
      } catch (err) {
        if ((err as { name?: unknown }).name !== 'TransactionCanceledException') throw err;
        // A concurrent call won: the same key returns its payment, another key is refused.
        const winner = await paymentUnder(db, table, idempotencyKey);
        if (winner) return sameRequest(winner, request);
        throw alreadyScheduled(request.invoiceId, 'scheduled', undefined);
      }
      const payment = toPayment(record);
      if (fault?.kind === 'crash-after') crash('schedulePayment', fault, payment);
      return payment;
    } catch (err) {
      throw wrap('schedulePayment', err);
    }
  },

  async voidInvoice(invoiceId: string, signal: AbortSignal): Promise<{ invoiceId: string; status: 'void' }> {
    await enter('voidInvoice', signal);
    const { db, table } = await open();
    const res = await db.send(
      new DeleteCommand({
        TableName: table,
        Key: { pk: `INVOICE#${invoiceId}`, sk: 'META' },
        ReturnValues: 'ALL_OLD',
      }),
    );
    if (!res.Attributes) throw new BackendError(`invoice ${invoiceId} not found`, 404, false);
    return { invoiceId, status: 'void' };
  },
};

/** The payment id a key gets: derived from it, so every answer for one key names the same payment. */
function paymentIdOf(idempotencyKey: string): string {
  const n = BigInt(`0x${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 15)}`);
  return `PAY-${String(n % 10n ** 12n).padStart(12, '0')}`;
}

async function paymentUnder(
  db: DynamoDBDocumentClient,
  table: string,
  key: string,
): Promise<PaymentRecord | undefined> {
  const res = await db.send(
    new GetCommand({ TableName: table, Key: { pk: `PAYMENT#${key}`, sk: 'META' }, ConsistentRead: true }),
  );
  return res.Item ? toPaymentRecord(res.Item) : undefined;
}

/** A repeat under one key must ask for the same payment (Stripe answers a changed request with 422 too). */
function sameRequest(earlier: PaymentRecord, request: PaymentRequest): Payment {
  const same =
    earlier.invoiceId === request.invoiceId &&
    earlier.amount === request.amount &&
    earlier.currency === request.currency &&
    earlier.scheduledFor === request.scheduledFor;
  if (!same) {
    throw new BackendError(
      `idempotency key ${earlier.idempotencyKey} was used for payment ${earlier.paymentId} of ${earlier.invoiceId} with other parameters`,
      422,
      false,
    );
  }
  return toPayment(earlier);
}

function alreadyScheduled(invoiceId: string, status: string, paymentId: unknown): BackendError {
  return new BackendError(
    `invoice ${invoiceId} is ${status}${typeof paymentId === 'string' ? ` (payment ${paymentId})` : ''}: a payment under another idempotency key is refused`,
    409,
    false,
  );
}

function crash(
  operation: string,
  fault: Extract<Fault, { kind: 'crash-after' }> & { remaining: number },
  result: unknown,
): never {
  fault.remaining -= 1;
  fault.onCommitted?.(result);
  if (fault.exit) process.kill(process.pid, 'SIGKILL');
  throw new BackendCrashError(operation);
}

/** Counts the call and applies the operation's fault; returns a `crash-after` fault for after the commit. */
async function enter(
  operation: string,
  signal: AbortSignal,
): Promise<(Fault & { remaining: number }) | undefined> {
  calls.set(operation, (calls.get(operation) ?? 0) + 1);
  const fault = faults.get(operation) ?? envFaults().get(operation);
  if (!fault || fault.remaining <= 0) return undefined;
  // A crash-after fault is used up when it fires (after a commit), not by a call that fails before.
  if (fault.kind === 'crash-after') return fault;
  fault.remaining -= 1;
  switch (fault.kind) {
    case 'throttle':
      throw new BackendError(`429 Too Many Requests: ${operation} is rate limited`, 429, true);
    case 'error':
      throw new BackendError(fault.message ?? `503 Service Unavailable: ${operation} is down`, 503, true);
    case 'hang':
      // Never answers; only the caller's timeout (the AbortSignal) ends the wait.
      return new Promise<never>((_, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
  }
}

let fromEnv: Map<string, Fault & { remaining: number }> | undefined;

/**
 * Faults a parent process arms in a child through `INVOICE_BACKEND_FAULTS`
 * (JSON `{ "schedulePayment": { "kind": "crash-after", "times": 1, "exit": true } }`):
 * how `npm run chaos` kills the server right after a payment commits.
 */
function envFaults(): Map<string, Fault & { remaining: number }> {
  if (fromEnv) return fromEnv;
  fromEnv = new Map();
  const text = process.env.INVOICE_BACKEND_FAULTS;
  if (!text) return fromEnv;
  const parsed: unknown = JSON.parse(text);
  if (typeof parsed !== 'object' || parsed === null)
    throw new BackendError('INVOICE_BACKEND_FAULTS is not a JSON object', 500, false);
  for (const [operation, value] of Object.entries(parsed)) {
    const kind = (value as { kind?: unknown }).kind;
    if (kind !== 'throttle' && kind !== 'error' && kind !== 'hang' && kind !== 'crash-after')
      throw new BackendError(
        `INVOICE_BACKEND_FAULTS.${operation}: unknown fault kind ${String(kind)}`,
        500,
        false,
      );
    const fault = value as Fault;
    fromEnv.set(operation, { ...fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  }
  return fromEnv;
}
