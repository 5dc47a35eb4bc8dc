import { describe, expect, it } from 'vitest';
import { parseApprovalForm } from '../../../../local/cli/approve.js';
import { parseStartArgs, UsageError } from '../../../../local/cli/args.js';
import { respond } from '../../../../local/cli/demo-scenario.js';
import type { RecordedRequest } from '../../../../local/scripted-model/index.js';

const request = (messages: RecordedRequest['body']['messages']): RecordedRequest => ({
  at: 0,
  conversation: 'c',
  turnIndex: messages.filter((m) => m.role === 'assistant').length,
  attempt: 1,
  body: { model: 'm', max_tokens: 100, messages },
  headers: {},
});

describe('npm start flags', () => {
  it('reads flags with separate or inline values and rejects unknown ones', () => {
    const args = parseStartArgs([
      '--serve',
      '--data-dir',
      '/tmp/x',
      '--port=4000',
      '--auto-approve',
      '--input',
      '{"invoiceId":"INV-000102"}',
    ]);

    expect(args).toMatchObject({
      serve: true,
      dataDir: '/tmp/x',
      port: 4000,
      autoApprove: true,
      input: { invoiceId: 'INV-000102' },
    });
    expect(() => parseStartArgs(['--bogus'])).toThrow(UsageError);
    expect(() => parseStartArgs(['--port', 'x'])).toThrow(/--port/);
  });
});

describe('approval form reader', () => {
  it('finds the action (entities decoded), hidden fields and decision buttons', () => {
    const html = `<form method="post" action="?approver=a%40b.c&#38;exp=1&#38;sig=s">
<input type="hidden" name="digest" value="d1"><textarea name="comment"></textarea>
<button type="submit" name="decision" value="approve">Approve</button><button type="submit" name="decision" value="reject">Reject</button></form>`;

    const form = parseApprovalForm(html, 'http://127.0.0.1:1/approvals/A1?approver=a%40b.c&exp=1&sig=s');

    expect(form).toEqual({
      action: 'http://127.0.0.1:1/approvals/A1?approver=a%40b.c&exp=1&sig=s',
      fields: { digest: 'd1' },
      decisions: ['approve', 'reject'],
    });
  });
});

describe('demo scenario', () => {
  it('starts with lookup_invoice and stops with an explanation when the invoice is not open', () => {
    const first = respond(request([{ role: 'user', content: 'Reconcile invoice INV-000101.' }]));
    const paid = respond(
      request([
        { role: 'user', content: 'Reconcile invoice INV-000101.' },
        {
          role: 'assistant',
          content: [
            { type: 'tool_use', id: 't1', name: 'lookup_invoice', input: { invoice_id: 'INV-000101' } },
          ],
        },
        {
          role: 'user',
          content: [
            {
              type: 'tool_result',
              tool_use_id: 't1',
              content:
                '{"invoiceId":"INV-000101","vendorId":"V-100","amount":5,"currency":"EUR","status":"paid","dueDate":"2026-12-15"}',
            },
          ],
        },
      ]),
    );

    expect(first.toolUses).toEqual([{ name: 'lookup_invoice', input: { invoice_id: 'INV-000101' } }]);
    expect(paid.toolUses).toBeUndefined();
    expect(paid.text).toContain('is paid, not open');
  });
});
