import { LIMIT_UNIT } from '../../state-machines/edges.js';
import type { ApprovalRecord } from './approval-records.js';
import { approvalDigest } from './approvals.js';
import { MICROS_PER_USD } from './pricing.js';
import type { Ledger, StoredTrailEvent } from './run-records.js';

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * The approval page. GET renders it and changes nothing (mail scanners follow
 * links); the form POSTs the decision with the same signed parameters and the
 * digest of what was shown.
 */
export function renderApprovalPage(args: {
  record: ApprovalRecord;
  approver: string;
  query: { approver: string; exp: string; sig: string };
  trail: readonly StoredTrailEvent[];
  ledger: Ledger | undefined;
  notice?: string;
}): string {
  const { record, approver, query, trail, ledger } = args;
  const decided = record.status !== 'pending';
  const calls = record.calls
    .map(
      (
        c,
      ) => `<section class="call"><h3><code>${esc(c.tool)}</code> <span class="access">${esc(c.access)}</span></h3>
<pre data-testid="arguments">${esc(JSON.stringify(c.args, null, 2))}</pre></section>`,
    )
    .join('');
  const steps = trail
    .filter((e) => e.type === 'model_call' || e.type === 'tool_call' || e.type === 'tool_rejected')
    .map((e) => {
      if (e.type === 'model_call')
        return `<li>model call: chose ${esc(e.toolsChosen.join(', ') || 'no tool')} (${e.inputTokens + e.outputTokens} tokens)</li>`;
      if (e.type === 'tool_call') return `<li>tool <code>${esc(e.tool)}</code>: ${esc(e.status)}</li>`;
      if (e.type === 'tool_rejected')
        return `<li>tool <code>${esc(e.tool)}</code> refused: ${esc(e.rule)}</li>`;
      return '';
    })
    .join('');
  const spent = ledger
    ? `${ledger.tokensUsed.toLocaleString('en-US')} of ${ledger.tokenLimit.toLocaleString('en-US')} tokens, $${(ledger.costUsedMicros / MICROS_PER_USD).toFixed(4)} of $${(ledger.costLimitMicros / MICROS_PER_USD).toFixed(4)}`
    : 'unknown';
  const action = `?${new URLSearchParams(query).toString()}`;
  // This approver's decision is recorded but the waiting run never heard it: the request that
  // recorded it was cut off before SendTaskSuccess. Sending the same decision again delivers it
  // (and decides nothing new), so the page offers exactly that and nothing else.
  const undelivered =
    (record.status === 'approved' || record.status === 'rejected') &&
    !record.delivered &&
    record.taskToken !== undefined &&
    record.decidedBy === approver;
  const form = undelivered
    ? `<p class="decided" data-testid="status">Decided: <b>${esc(record.status)}</b> by ${esc(record.decidedBy ?? '')} at ${esc(record.decidedAt ?? '')}, but the run has not received the decision yet (the request that recorded it was cut off). Send it again: nothing is decided twice.</p>
<form method="post" action="${esc(action)}">
<input type="hidden" name="digest" value="${esc(approvalDigest(record))}">
<input type="hidden" name="decision" value="${record.status === 'approved' ? 'approve' : 'reject'}">
<p><button type="submit">Send the decision again</button></p>
</form>`
    : decided
      ? record.status === 'bypassed'
        ? `<p class="decided" data-testid="status"><b>No decision can count any more.</b> ${esc(record.violation ?? '')}. A task callback that did not come through the approval API tried to run this; nothing was run, the run was stopped as a policy violation, and the alert topic was notified.</p>`
        : `<p class="decided" data-testid="status">Already decided: <b>${esc(record.status)}</b> by ${esc(record.decidedBy ?? '')} at ${esc(record.decidedAt ?? '')}.</p>`
      : `<form method="post" action="${esc(action)}">
<input type="hidden" name="digest" value="${esc(approvalDigest(record))}">
${extensionField(record)}<label>Comment <textarea name="comment" rows="3" cols="60"></textarea></label>
<p><button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="reject">Reject</button></p>
</form>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Approve: ${esc(record.summary.slice(0, 80))}</title>
<meta name="robots" content="noindex"><meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f4;padding:.75rem;overflow:auto}
.access{font-size:.8em;background:#fde68a;padding:.1em .4em;border-radius:.3em}button{font-size:1rem;padding:.4rem 1.2rem;margin-right:.5rem}</style></head>
<body><h1>Approval needed</h1>
${args.notice ? `<p class="notice" data-testid="notice">${esc(args.notice)}</p>` : ''}
<p>Run <code>${esc(record.runId)}</code> of <b>${esc(record.workflow)}</b>, step <code>${esc(record.step)}</code>. You are deciding as <b>${esc(approver)}</b>.</p>
<h2>${record.extension ? 'The run reached a limit' : 'What the agent wants to do'}</h2>${calls || `<p data-testid="summary">${esc(record.summary)}</p>`}
${record.reason ? `<h2>Why</h2><blockquote data-testid="reason">${esc(record.reason)}</blockquote>` : ''}
<h2>The run so far</h2><ol>${steps}</ol><p>Spent: <span data-testid="spent">${esc(spent)}</span></p>
${form}</body></html>`;
}

/** For an extension: how much to grant, offered at what the workflow proposes, at most what it allows. */
function extensionField(record: ApprovalRecord): string {
  const ext = record.extension;
  if (!ext) return '';
  const cost = ext.limit === 'cost';
  const show = (n: number) => (cost ? String(n / MICROS_PER_USD) : String(n));
  const unit = cost ? 'USD' : LIMIT_UNIT[ext.limit];
  return `<p><label>Extend by <input type="number" name="extendBy" data-testid="extend-by" value="${esc(show(ext.by))}" min="${cost ? '0.0001' : '1'}" max="${esc(show(ext.max))}" step="${cost ? '0.0001' : '1'}"> ${esc(unit)}</label> (at most ${esc(show(ext.max))})</p>
`;
}
