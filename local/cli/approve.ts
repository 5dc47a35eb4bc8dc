/**
 * Deciding an approval the way a person does with the email's link, through
 * the same HTTP API: open the page (GET changes nothing), then submit its
 * form with the Approve or Reject button. Used by `npm start` (its prompt and
 * `--auto-approve`) and the CLI.
 */

/** The form of an approval page: where it posts and what it sends. */
export interface ApprovalForm {
  action: string;
  fields: Record<string, string>;
  /** The `decision` values the page offers (e.g. approve, reject). */
  decisions: string[];
}

const attr = (tag: string, name: string): string | undefined => {
  const m = new RegExp(`\\b${name}\\s*=\\s*("([^"]*)"|'([^']*)')`, 'i').exec(tag);
  return m ? decodeEntities(m[2] ?? m[3] ?? '') : undefined;
};

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e.startsWith('#x') || e.startsWith('#X'))
      return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number(e.slice(1)));
    return NAMED[e.toLowerCase()] ?? m;
  });
}

/** Reads the first form of an approval page (hidden inputs and decision buttons). */
export function parseApprovalForm(html: string, pageUrl: string): ApprovalForm | undefined {
  const form = /<form\b[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return undefined;
  const open = /<form\b[^>]*>/i.exec(form[0])?.[0] ?? '';
  const action = new URL(attr(open, 'action') ?? pageUrl, pageUrl).toString();
  const fields: Record<string, string> = {};
  const decisions: string[] = [];
  for (const tag of form[1]?.match(/<(input|button)\b[^>]*>/gi) ?? []) {
    const name = attr(tag, 'name');
    const value = attr(tag, 'value') ?? '';
    if (!name) continue;
    const type = (
      attr(tag, 'type') ?? (tag.toLowerCase().startsWith('<button') ? 'submit' : 'text')
    ).toLowerCase();
    if (type === 'submit' && name === 'decision') decisions.push(value);
    else if (type !== 'submit') fields[name] = value;
  }
  return { action, fields, decisions };
}

/** The outcome of an approval attempt, for the demo's output. */
export interface ApproveResult {
  ok: boolean;
  status: number;
  message: string;
}

/** Opens the approval link and approves (as `approver`, when the form asks). */
export function approveViaLink(
  link: string,
  comment = 'approved by npm start --auto-approve',
): Promise<ApproveResult> {
  return decideViaLink(link, 'approve', comment);
}

/** Opens the approval link and submits its form with `decision`, as the page's button does. */
export async function decideViaLink(
  link: string,
  decision: 'approve' | 'reject',
  comment: string,
): Promise<ApproveResult> {
  const page = await fetch(link, { headers: { accept: 'text/html' } });
  const html = await page.text();
  if (!page.ok)
    return {
      ok: false,
      status: page.status,
      message: `GET ${link} answered ${page.status}: ${html.slice(0, 200)}`,
    };
  const form = parseApprovalForm(html, link);
  let res: Response;
  if (form) {
    const body = new URLSearchParams({
      ...form.fields,
      decision: form.decisions.includes(decision) ? decision : (form.decisions[0] ?? decision),
    });
    if (/name\s*=\s*["']comment["']/i.test(html)) body.set('comment', comment);
    res = await fetch(form.action, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    });
  } else {
    // No HTML form: the API speaks JSON; send the digest it showed, if any.
    const digest = /"digest"\s*:\s*"([^"]+)"/.exec(html)?.[1];
    res = await fetch(link, {
      method: 'POST',
      body: JSON.stringify({ decision, comment, ...(digest ? { digest } : {}) }),
      headers: { 'content-type': 'application/json' },
    });
  }
  const text = await res.text();
  const done = decision === 'approve' ? 'approved' : 'rejected';
  return {
    ok: res.ok,
    status: res.status,
    message: res.ok ? done : `POST answered ${res.status}: ${text.slice(0, 200)}`,
  };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A link issued by a local stack, resolved against the stack's current
 * address: an emailed link names the port the API had when it was sent, and
 * a stack restarted on another port (`--port`) must not send the decision to
 * whatever listens there now. Links to other hosts are returned as they are.
 */
export function resolveLink(link: string, apiUrl: string): string {
  let url: URL;
  let api: URL;
  try {
    url = new URL(link);
    api = new URL(apiUrl);
  } catch {
    return link;
  }
  if (!LOOPBACK.has(url.hostname) || url.origin === api.origin) return link;
  return new URL(`${url.pathname}${url.search}`, api.origin).toString();
}
