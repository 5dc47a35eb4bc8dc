/**
 * `npm run chaperone -- <command>`: the command line for a running stack
 * (local `npm start -- --serve`, or a deployed API with `--api`).
 *
 *   runs get <runId>                     status, figures and trail of a run
 *   approvals list [--status pending]    what waits for a human
 *   approvals approve <link> [--comment "…"]
 *   approvals reject <link> --comment "…"
 *
 * Deciding goes through the emailed link with the same checks as the page:
 * the signature and expiry of the link, the digest of what was shown, and
 * one decision per approval.
 */
import { pathToFileURL } from 'node:url';
import { parseApprovalForm } from './approve.js';

export type Write = (line: string) => void;

export const CLI_USAGE = `Usage: npm run chaperone -- <command> [--api <url>]

  runs get <runId>                       show a run: status, figures, trail
  approvals list [--status <status>]     list approvals (pending, approved, rejected, expired)
  approvals approve <link> [--comment <text>]
  approvals reject <link> --comment <text>

--api defaults to $CHAPERONE_API_URL (npm start -- --serve prints it).`;

/** Run one CLI command; returns the process exit code. */
export async function main(
  argv: readonly string[],
  io: { write: Write; env: Record<string, string | undefined> },
): Promise<number> {
  const args = [...argv];
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const api = (flag('api') ?? io.env.CHAPERONE_API_URL ?? '').replace(/\/$/, '');
  const status = flag('status');
  const comment = flag('comment');
  const [group, command, target] = args;
  const fail = (message: string) => {
    io.write(message);
    return 2;
  };

  if (group === 'runs' && command === 'get' && target) {
    if (!api) return fail('no API URL: pass --api or set CHAPERONE_API_URL');
    const res = await fetch(`${api}/runs/${encodeURIComponent(target)}`);
    io.write(JSON.stringify(await res.json(), null, 2));
    return res.ok ? 0 : 1;
  }
  if (group === 'approvals' && command === 'list') {
    if (!api) return fail('no API URL: pass --api or set CHAPERONE_API_URL');
    const res = await fetch(`${api}/approvals?status=${encodeURIComponent(status ?? 'pending')}`);
    const body = (await res.json()) as { approvals?: Array<Record<string, unknown>>; message?: string };
    if (!res.ok) return fail(`GET /approvals answered ${res.status}: ${body.message ?? ''}`);
    const items = body.approvals ?? [];
    if (items.length === 0) io.write(`no ${status ?? 'pending'} approvals`);
    for (const a of items)
      io.write(
        `${String(a.approvalId)}  ${String(a.status)}  run ${String(a.runId)}  ${String(a.summary)}  (expires ${String(a.expiresAt)})`,
      );
    return 0;
  }
  if (group === 'approvals' && (command === 'approve' || command === 'reject') && target) {
    if (command === 'reject' && !comment) return fail('reject needs --comment: the model reads why');
    return decide(target, command, comment ?? '', io.write);
  }
  return fail(CLI_USAGE);
}

async function decide(
  link: string,
  decision: 'approve' | 'reject',
  comment: string,
  write: Write,
): Promise<number> {
  const page = await fetch(link, { headers: { accept: 'text/html' } });
  const html = await page.text();
  if (!page.ok) {
    write(`the link answered ${page.status}: ${textOf(html)}`);
    return 1;
  }
  const form = parseApprovalForm(html, link);
  if (!form) {
    write(`nothing to decide: ${textOf(html)}`);
    return 1;
  }
  for (const line of textOf(html)
    .split(/(?<=\.)\s+/)
    .slice(0, 12))
    write(`  ${line}`);
  const res = await fetch(form.action, {
    method: 'POST',
    body: new URLSearchParams({ ...form.fields, decision, comment }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
  });
  const answer = textOf(await res.text());
  if (!res.ok) {
    write(`not decided (${res.status}): ${answer}`);
    return 1;
  }
  write(`${decision === 'approve' ? 'approved' : 'rejected'}`);
  return 0;
}

/** The visible text of a small HTML page. */
function textOf(html: string): string {
  return html
    .replace(/<style[\s\S]*?<\/style>/gi, '')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 2000);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2), { write: (l) => process.stdout.write(`${l}\n`), env: process.env }).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
