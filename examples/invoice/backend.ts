/**
 * A simulated accounts-payable backend for the invoice example, with faults
 * that can be switched on per operation (throttling, outages, hangs). State
 * lives in the module, as a real client's connection pool would.
 */

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

/** A fault on one operation: fails the next `times` calls (or every call). */
export type Fault =
  | { kind: 'throttle'; times?: number; retryAfterSeconds?: number }
  | { kind: 'error'; times?: number; message?: string }
  | { kind: 'hang'; times?: number };

/** An error the backend raises; `status` mirrors what an HTTP API would answer. */
export class BackendError extends Error {
  override readonly name = 'BackendError';
  constructor(
    message: string,
    readonly status: number,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

const invoices = new Map<string, Invoice>();
const vendors = new Map<string, Vendor>();
const payments: Payment[] = [];
const faults = new Map<string, Fault & { remaining: number }>();
const calls = new Map<string, number>();

function seed(): void {
  invoices.clear();
  vendors.clear();
  payments.length = 0;
  vendors.set('V-100', {
    vendorId: 'V-100',
    name: 'Acme Office Supply',
    iban: 'DE89370400440532013000',
    country: 'DE',
  });
  vendors.set('V-200', {
    vendorId: 'V-200',
    name: 'Globex Logistics',
    iban: 'GB29NWBK60161331926819',
    country: 'GB',
  });
  invoices.set('INV-000101', {
    invoiceId: 'INV-000101',
    vendorId: 'V-100',
    amount: 1250,
    currency: 'EUR',
    status: 'open',
    dueDate: '2026-12-15',
    lines: [
      { sku: 'PAPER-A4', description: 'A4 paper, 80 g, box of 5 reams', quantity: 50, unitPrice: 21 },
      { sku: 'TONER-K', description: 'Toner cartridge, black', quantity: 4, unitPrice: 50 },
    ],
  });
  invoices.set('INV-000102', {
    invoiceId: 'INV-000102',
    vendorId: 'V-200',
    amount: 980.5,
    currency: 'GBP',
    status: 'open',
    dueDate: '2026-12-01',
    lines: Array.from({ length: 400 }, (_, i) => ({
      sku: `PALLET-${String(i).padStart(4, '0')}`,
      description: `Pallet movement ${i} between depots, with handling and insurance`,
      quantity: 1,
      unitPrice: 2.45125,
    })),
  });
}
seed();

/** The backend's operations and its fault switches. */
export const backend = {
  /** Restore the seeded data, clear faults and call counts. */
  reset(): void {
    seed();
    faults.clear();
    calls.clear();
  },
  /** Switch a fault on for an operation (`lookupInvoice`, `findVendor`, `schedulePayment`, ...). */
  fault(operation: string, fault: Fault): void {
    faults.set(operation, { ...fault, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  },
  /** How many times an operation was called since the last reset. */
  callCount(operation: string): number {
    return calls.get(operation) ?? 0;
  },
  payments(): readonly Payment[] {
    return payments;
  },

  async lookupInvoice(invoiceId: string, signal: AbortSignal): Promise<Invoice> {
    await enter('lookupInvoice', signal);
    const invoice = invoices.get(invoiceId);
    if (!invoice) throw new BackendError(`invoice ${invoiceId} not found`, 404, false);
    return structuredClone(invoice);
  },

  async findVendor(query: { vendorId?: string; name?: string }, signal: AbortSignal): Promise<Vendor[]> {
    await enter('findVendor', signal);
    return [...vendors.values()].filter(
      (v) =>
        (query.vendorId === undefined || v.vendorId === query.vendorId) &&
        (query.name === undefined || v.name.toLowerCase().includes(query.name.toLowerCase())),
    );
  },

  /** A stale but always-available copy of the vendor directory (the fallback). */
  async findVendorCached(query: { vendorId?: string; name?: string }): Promise<Vendor[]> {
    calls.set('findVendorCached', (calls.get('findVendorCached') ?? 0) + 1);
    return [...vendors.values()].filter(
      (v) =>
        (query.vendorId === undefined || v.vendorId === query.vendorId) &&
        (query.name === undefined || v.name.toLowerCase().includes(query.name.toLowerCase())),
    );
  },

  async schedulePayment(
    request: { invoiceId: string; amount: number; currency: string; scheduledFor: string },
    signal: AbortSignal,
  ): Promise<Payment> {
    await enter('schedulePayment', signal);
    const invoice = invoices.get(request.invoiceId);
    if (!invoice) throw new BackendError(`invoice ${request.invoiceId} not found`, 404, false);
    if (invoice.status !== 'open')
      throw new BackendError(`invoice ${request.invoiceId} is ${invoice.status}`, 409, false);
    if (Math.abs(invoice.amount - request.amount) > 0.005 || invoice.currency !== request.currency) {
      throw new BackendError(
        `amount ${request.amount} ${request.currency} does not match invoice ${invoice.amount} ${invoice.currency}`,
        422,
        false,
      );
    }
    const payment: Payment = { paymentId: `PAY-${String(payments.length + 1).padStart(5, '0')}`, ...request };
    payments.push(payment);
    invoice.status = 'scheduled';
    return payment;
  },

  async voidInvoice(invoiceId: string, signal: AbortSignal): Promise<{ invoiceId: string; status: 'void' }> {
    await enter('voidInvoice', signal);
    if (!invoices.delete(invoiceId)) throw new BackendError(`invoice ${invoiceId} not found`, 404, false);
    return { invoiceId, status: 'void' };
  },
};

async function enter(operation: string, signal: AbortSignal): Promise<void> {
  calls.set(operation, (calls.get(operation) ?? 0) + 1);
  const fault = faults.get(operation);
  if (!fault || fault.remaining <= 0) return;
  fault.remaining -= 1;
  switch (fault.kind) {
    case 'throttle':
      throw new BackendError(`429 Too Many Requests: ${operation} is rate limited`, 429, true);
    case 'error':
      throw new BackendError(fault.message ?? `503 Service Unavailable: ${operation} is down`, 503, true);
    case 'hang':
      // Never answers; only the caller's timeout (the AbortSignal) ends the wait.
      await new Promise<never>((_, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
  }
}
