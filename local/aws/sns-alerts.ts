/**
 * The local stand-in for SNS `Publish` (query protocol): parses the
 * form-encoded request, appends the alert to a JSON-lines file and builds the
 * XML response the SDK expects.
 */
import { randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/** One published alert, as appended to the alerts file. */
export interface LocalAlert {
  messageId: string;
  /** ISO timestamp. */
  at: string;
  topicArn: string;
  subject?: string;
  message: string;
  attributes: Record<string, string>;
}

/** Reads `MessageAttributes.entry.N.{Name,Value.StringValue}` pairs from a query request. */
function messageAttributes(form: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 1; ; i++) {
    const name = form.get(`MessageAttributes.entry.${i}.Name`);
    if (name === null) break;
    const value =
      form.get(`MessageAttributes.entry.${i}.Value.StringValue`) ??
      form.get(`MessageAttributes.entry.${i}.Value.BinaryValue`) ??
      '';
    out[name] = value;
  }
  return out;
}

/** Records a `Publish` request; returns the alert (its `messageId` goes back to the caller). */
export function recordAlert(alertsFile: string, form: URLSearchParams, now: Date = new Date()): LocalAlert {
  const alert: LocalAlert = {
    messageId: randomUUID(),
    at: now.toISOString(),
    topicArn: form.get('TopicArn') ?? form.get('TargetArn') ?? form.get('PhoneNumber') ?? '',
    message: form.get('Message') ?? '',
    attributes: messageAttributes(form),
  };
  const subject = form.get('Subject');
  if (subject !== null) alert.subject = subject;
  mkdirSync(dirname(alertsFile), { recursive: true });
  appendFileSync(alertsFile, `${JSON.stringify(alert)}\n`);
  return alert;
}

const escapeXml = (s: string): string =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );

/** The XML body of a successful `Publish`. */
export function publishResponseXml(messageId: string, requestId: string): string {
  return (
    '<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">' +
    `<PublishResult><MessageId>${escapeXml(messageId)}</MessageId></PublishResult>` +
    `<ResponseMetadata><RequestId>${escapeXml(requestId)}</RequestId></ResponseMetadata>` +
    '</PublishResponse>'
  );
}

/** The XML body of a query-protocol error. */
export function queryErrorXml(code: string, message: string, requestId: string): string {
  return (
    '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">' +
    `<Error><Type>Sender</Type><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error>` +
    `<RequestId>${escapeXml(requestId)}</RequestId></ErrorResponse>`
  );
}
