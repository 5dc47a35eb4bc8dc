/**
 * The local stand-in for SESv2 `SendEmail`: each email becomes a `.json`
 * record and an `.eml` file in the outbox folder.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One email the handlers sent, as stored in the outbox. */
export interface OutboxEmail {
  messageId: string;
  /** ISO timestamp. */
  sentAt: string;
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo: string[];
  subject: string;
  text?: string;
  html?: string;
  /** For `Content.Template` emails. */
  template?: { name?: string; data?: string };
  /** Every http(s) URL in the text and HTML bodies, in order, without duplicates. */
  links: string[];
  /** The `.json` file. */
  file: string;
  /** The `.eml` file. */
  emlFile: string;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {};
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** Parses a SendEmail request body and writes the email into `outboxDir`. */
export function writeOutboxEmail(outboxDir: string, body: unknown, now: Date = new Date()): OutboxEmail {
  const req = obj(body);
  const destination = obj(req.Destination);
  const content = obj(req.Content);
  const simple = obj(content.Simple);
  const raw = str(obj(content.Raw).Data);
  const rawText = raw === undefined ? undefined : Buffer.from(raw, 'base64').toString('utf8');
  const messageId = `local-${now.getTime()}-${randomUUID()}`;
  const base = join(outboxDir, `${now.toISOString().replace(/[:.]/g, '-')}-${messageId.slice(-12)}`);
  const email: OutboxEmail = {
    messageId,
    sentAt: now.toISOString(),
    from: str(req.FromEmailAddress) ?? header(rawText, 'From') ?? '',
    to: strings(destination.ToAddresses),
    cc: strings(destination.CcAddresses),
    bcc: strings(destination.BccAddresses),
    replyTo: strings(req.ReplyToAddresses),
    subject: str(obj(simple.Subject).Data) ?? header(rawText, 'Subject') ?? '',
    links: [],
    file: `${base}.json`,
    emlFile: `${base}.eml`,
  };
  const body_ = obj(simple.Body);
  const text = str(obj(body_.Text).Data);
  const html = str(obj(body_.Html).Data);
  if (text !== undefined) email.text = text;
  if (html !== undefined) email.html = html;
  if (content.Template !== undefined) {
    const t = obj(content.Template);
    email.template = {
      ...(str(t.TemplateName) ? { name: str(t.TemplateName) } : {}),
      ...(str(t.TemplateData) ? { data: str(t.TemplateData) } : {}),
    };
  }
  if (rawText !== undefined && email.text === undefined) email.text = rawText;
  email.links = [
    ...new Set([...(email.text ?? '').matchAll(URLS), ...(email.html ?? '').matchAll(URLS)].map((m) => m[0])),
  ];
  mkdirSync(outboxDir, { recursive: true });
  writeFileSync(email.file, `${JSON.stringify(email, null, 2)}\n`);
  writeFileSync(email.emlFile, rawText ?? toEml(email));
  return email;
}

const URLS = /https?:\/\/[^\s"'<>]+/g;

function header(raw: string | undefined, name: string): string | undefined {
  const m = raw === undefined ? null : new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(raw);
  return m?.[1]?.trim();
}

/** A minimal MIME message (text and/or HTML) that mail clients open. */
function toEml(email: OutboxEmail): string {
  const head = [
    `Message-ID: <${email.messageId}@local.chaperone>`,
    `Date: ${new Date(email.sentAt).toUTCString()}`,
    `From: ${email.from}`,
    `To: ${email.to.join(', ')}`,
    ...(email.cc.length > 0 ? [`Cc: ${email.cc.join(', ')}`] : []),
    `Subject: ${email.subject}`,
    'MIME-Version: 1.0',
  ];
  const parts: Array<[string, string]> = [];
  if (email.text !== undefined) parts.push(['text/plain', email.text]);
  if (email.html !== undefined) parts.push(['text/html', email.html]);
  if (parts.length <= 1) {
    const [type, value] = parts[0] ?? ['text/plain', ''];
    return [...head, `Content-Type: ${type}; charset=UTF-8`, '', value, ''].join('\r\n');
  }
  const boundary = `chaperone-${email.messageId}`;
  const body = parts.flatMap(([type, value]) => [
    `--${boundary}`,
    `Content-Type: ${type}; charset=UTF-8`,
    '',
    value,
  ]);
  return [
    ...head,
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    ...body,
    `--${boundary}--`,
    '',
  ].join('\r\n');
}
