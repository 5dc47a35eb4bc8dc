import type { Invoice, Vendor } from './backend.js';

/** The demo's vendors, seeded into the backend table (and the stale directory the fallback reads). */
export const SEED_VENDORS: readonly Vendor[] = [
  { vendorId: 'V-100', name: 'Acme Office Supply', iban: 'DE89370400440532013000', country: 'DE' },
  { vendorId: 'V-200', name: 'Globex Logistics', iban: 'GB29NWBK60161331926819', country: 'GB' },
];

/** The demo's invoices: a small open one and one whose 400 lines need trimming. */
export const SEED_INVOICES: readonly Invoice[] = [
  {
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
  },
  {
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
  },
];
