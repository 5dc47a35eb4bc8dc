/**
 * The scripted model's part in the `npm start` demo (no ANTHROPIC_API_KEY):
 * a reconciliation clerk that reads the tool results in each request and
 * plays lookup_invoice → find_vendor → schedule_payment → a short answer,
 * stopping early with an explanation when a result says it should.
 */
import {
  type RecordedRequest,
  responder,
  type Scenario,
  type ScriptedTurn,
} from '../scripted-model/index.js';

interface ToolExchange {
  name: string;
  input: unknown;
  content: string;
  isError: boolean;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every tool call in the conversation with its result, oldest first. */
function exchanges(request: RecordedRequest): ToolExchange[] {
  const calls = new Map<string, { name: string; input: unknown }>();
  const out: ToolExchange[] = [];
  for (const message of request.body.messages) {
    if (typeof message.content === 'string') continue;
    for (const block of message.content) {
      const b: Obj = block;
      if (b.type === 'tool_use' && typeof b.id === 'string' && typeof b.name === 'string')
        calls.set(b.id, { name: b.name, input: b.input });
      if (b.type === 'tool_result' && typeof b.tool_use_id === 'string') {
        const call = calls.get(b.tool_use_id);
        if (!call) continue;
        out.push({ ...call, content: resultText(b.content), isError: b.is_error === true });
      }
    }
  }
  return out;
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content
      .map((c: unknown) => (isObj(c) && typeof c.text === 'string' ? c.text : JSON.stringify(c)))
      .join('\n');
  return JSON.stringify(content ?? '');
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Finds the first object (depth-first) that has `key`. */
function findWith(value: unknown, key: string): Obj | undefined {
  if (isObj(value)) {
    if (key in value) return value;
    for (const v of Object.values(value)) {
      const hit = findWith(v, key);
      if (hit) return hit;
    }
  } else if (Array.isArray(value)) {
    for (const v of value) {
      const hit = findWith(v, key);
      if (hit) return hit;
    }
  }
  return undefined;
}

function firstUserText(request: RecordedRequest): string {
  const first = request.body.messages.find((m) => m.role === 'user');
  if (!first) return '';
  if (typeof first.content === 'string') return first.content;
  return first.content
    .map((b) => (typeof (b as Obj).text === 'string' ? String((b as Obj).text) : ''))
    .join('\n');
}

/**
 * The object with `key` in a tool result: parsed JSON when it is whole, else
 * the top-level `"field":value` pairs read off the text (results can be
 * trimmed mid-JSON when they are large).
 */
function recordWith(content: string, key: string): Obj | undefined {
  const parsed = findWith(parse(content), key);
  if (parsed) return parsed;
  if (!content.includes(`"${key}"`)) return undefined;
  const out: Obj = {};
  for (const m of content.matchAll(/"(\w+)":("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null)/g)) {
    const [, field, raw] = m;
    if (field && raw && !(field in out)) out[field] = parse(raw);
  }
  return out;
}

const last = (list: ToolExchange[], name: string): ToolExchange | undefined =>
  list.filter((e) => e.name === name).at(-1);
const use = (name: string, input: Obj, text: string): ScriptedTurn => ({ text, toolUses: [{ name, input }] });

/** Decides the clerk's next turn from what the conversation holds so far. */
export function respond(request: RecordedRequest): ScriptedTurn {
  const done = exchanges(request);
  const invoiceId = /INV-\d{6}/.exec(firstUserText(request))?.[0];
  if (!invoiceId)
    return {
      text: 'I could not find an invoice id (INV- followed by six digits) in the request, so I did nothing.',
    };

  const lookup = last(done, 'lookup_invoice');
  if (!lookup) return use('lookup_invoice', { invoice_id: invoiceId }, `Looking up ${invoiceId}.`);
  const invoice = recordWith(lookup.content, 'vendorId');
  if (lookup.isError || !invoice)
    return {
      text: `I could not look up ${invoiceId}: ${lookup.content.slice(0, 200)}. Nothing was scheduled.`,
    };
  const vendorId = String(invoice.vendorId);
  const amount = Number(invoice.amount);
  const currency = String(invoice.currency);
  const dueDate = String(invoice.dueDate);
  if (invoice.status !== 'open')
    return { text: `${invoiceId} is ${String(invoice.status)}, not open, so there is nothing to schedule.` };

  const vendorCall = last(done, 'find_vendor') ?? last(done, 'find_vendor_cached');
  if (!vendorCall)
    return use(
      'find_vendor',
      { vendor_id: vendorId },
      `${invoiceId} is open: ${amount} ${currency} to ${vendorId}, due ${dueDate}. Checking the vendor.`,
    );
  const vendor = recordWith(vendorCall.content, 'vendorId');
  if (vendorCall.isError || !vendor || vendor.vendorId !== vendorId) {
    return {
      text: `Vendor ${vendorId} of ${invoiceId} could not be confirmed (${vendorCall.content.slice(0, 200)}), so I did not schedule a payment.`,
    };
  }

  const payment = last(done, 'schedule_payment');
  if (!payment) {
    return use(
      'schedule_payment',
      { invoice_id: invoiceId, amount, currency, scheduled_for: dueDate },
      `Vendor ${vendorId} (${String(vendor.name)}) is known. Scheduling ${amount} ${currency} for ${dueDate}.`,
    );
  }
  if (payment.isError) {
    return {
      text: `I checked ${invoiceId} (${amount} ${currency}, open) and vendor ${vendorId}, but the payment was not scheduled: ${payment.content.slice(0, 300)}`,
    };
  }
  const paymentId =
    recordWith(payment.content, 'paymentId')?.paymentId ??
    /PAY-[\w-]+/.exec(payment.content)?.[0] ??
    'unknown';
  return {
    text: `Reconciled ${invoiceId}: open invoice of ${amount} ${currency} from vendor ${vendorId} (${String(vendor.name)}), vendor confirmed in the directory. Payment ${String(paymentId)} is scheduled for ${dueDate}.`,
  };
}

/** The demo scenario for the scripted model. */
export const demoScenario: Scenario = responder('invoice-reconciliation demo', respond);
