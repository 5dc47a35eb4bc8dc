/**
 * `npm run chaperone -- <command>`: the command line for a running stack
 * (local `npm start -- --serve`, found by itself from the data directory,
 * or a deployed API with `--api`).
 *
 *   runs get <runId>                     status, figures and trail of a run
 *   runs cost <runId>                    what a run cost, by service
 *   runs redrive <runId>                 resume a run that failed for a platform reason
 *   approvals list [--status pending]    what waits for a human
 *   approvals approve <link> [--comment "…"]
 *   approvals reject <link> --comment "…"
 *   replay <runId> [--out <file>]        a scenario module replaying the run's model answers
 *   runs trace <runId> --otlp <url> | --out <file>   the run as OpenTelemetry spans (OTLP/JSON)
 *   knowledge ingest <dir> --source <n>  index a knowledge source (local/cli/knowledge.ts)
 *   memory forget <runId>                delete the run's episode
 *   memory example <runId> true|false    mark whether the run may be an example
 *
 * Deciding goes through the emailed link with the same checks as the page:
 * the signature and expiry of the link, the digest of what was shown, and
 * one decision per approval.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { StoredTrailEvent } from '../../lambdas/core/run-records.js';
import { readRunningStack } from '../runtime/running-stack.js';
import { parseApprovalForm, resolveLink } from './approve.js';
import { knowledgeCommand } from './knowledge.js';
import { costLine, type RunView } from './print.js';
import { replayModuleSource } from './replay.js';
import { TraceExportError, traceCommand } from './trace.js';

export type Write = (line: string) => void;

export const CLI_USAGE = `Usage: npm run chaperone -- <command> [--api <url>] [--data-dir <dir>]

  runs get <runId>                       show a run: status, figures, trail
  runs cost <runId>                      what a run cost: model tokens, Step Functions, Lambda, DynamoDB, S3
  runs redrive <runId>                   resume a run that failed for a platform reason
                                         (a crash or throttling past its retries) where it failed
  approvals list [--status <status>]     list approvals (pending, approved, rejected, expired)
  approvals approve <link> [--comment <text>]
  approvals reject <link> --comment <text>
  replay <runId> [--out <file>]          the run's recorded model answers as a scenario module
  runs trace <runId> --otlp <url>        send the run as OpenTelemetry spans to an OTLP/HTTP collector
  runs trace <runId> --out <file>        or write them as OTLP/JSON
  knowledge ingest <dir> --source <name> chunk, embed and index documents (locally, or --vector-bucket <arn>)
  memory forget <runId>                  delete the run's episode (the right to be forgotten)
  memory example <runId> true|false      whether the run may be an example for later runs

The API is --api, else $CHAPERONE_API_URL, else the local stack running on
--data-dir (default .chaperone, as npm start), found from its stack.json.`;

/** Where the API URL came from, for error messages. */
interface ApiChoice {
  url: string;
  from: string;
}

/** The API to call: --api, $CHAPERONE_API_URL, or the running local stack; else what was tried. */
function chooseApi(
  flagValue: string | undefined,
  env: Record<string, string | undefined>,
  dataDir: string,
): ApiChoice | { tried: string } {
  if (flagValue) return { url: flagValue.replace(/\/$/, ''), from: '--api' };
  if (env.CHAPERONE_API_URL)
    return { url: env.CHAPERONE_API_URL.replace(/\/$/, ''), from: 'CHAPERONE_API_URL' };
  const running = readRunningStack(dataDir);
  if (running) return { url: running.apiUrl, from: `the local stack in ${dataDir} (process ${running.pid})` };
  return {
    tried: `no --api, no CHAPERONE_API_URL, and no local stack running on ${dataDir} (its stack.json is missing or names a process that has ended). Start one with npm start -- --serve, or pass --api <url>`,
  };
}

/** fetch, with a failure that says what was called, where the URL came from and why it failed. */
async function call(url: string, from: string, init?: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new CliError(`${init?.method ?? 'GET'} ${url} failed: ${why} (the URL came from ${from})`);
  }
}

/** A failure whose message is for the user. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

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
  if (args[0] === 'knowledge') return knowledgeCommand(args.slice(1), io);
  const apiFlag = flag('api');
  const dataDir = resolve(flag('data-dir') ?? '.chaperone');
  const status = flag('status');
  const comment = flag('comment');
  const out = flag('out');
  const otlp = flag('otlp');
  const [group, command, target] = args;
  const fail = (message: string) => {
    io.write(message);
    return 2;
  };
  try {
    return await run();
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    io.write(err.message);
    return 1;
  }

  async function run(): Promise<number> {
    const api = (): ApiChoice => {
      const choice = chooseApi(apiFlag, io.env, dataDir);
      if ('tried' in choice) throw new CliError(`no API to call: ${choice.tried}`);
      return choice;
    };
    if (group === 'runs' && command === 'get' && target) {
      const { url, from } = api();
      const res = await call(`${url}/runs/${encodeURIComponent(target)}`, from);
      io.write(JSON.stringify(await res.json(), null, 2));
      return res.ok ? 0 : 1;
    }
    if (group === 'runs' && command === 'cost' && target) {
      const { url, from } = api();
      const res = await call(`${url}/runs/${encodeURIComponent(target)}`, from);
      const run = (await res.json()) as RunView & { message?: string };
      if (!res.ok) return fail(`GET /runs/${target} answered ${res.status}: ${run.message ?? ''}`);
      io.write(`Run ${run.runId}: ${run.status}`);
      io.write(`Cost: ${costLine(run) ?? 'not reported by this API'}`);
      return 0;
    }
    if (group === 'runs' && command === 'trace' && target) {
      const { url, from } = api();
      try {
        io.write(
          await traceCommand(
            target,
            { ...(otlp !== undefined ? { otlp } : {}), ...(out !== undefined ? { out } : {}) },
            async (id) => {
              const res = await call(`${url}/runs/${encodeURIComponent(id)}`, from);
              return { status: res.status, body: await res.json() };
            },
          ),
        );
        return 0;
      } catch (err) {
        if (err instanceof TraceExportError) throw new CliError(err.message);
        throw err;
      }
    }
    if (group === 'runs' && command === 'redrive' && target) {
      const { url, from } = api();
      const res = await call(`${url}/runs/${encodeURIComponent(target)}/redrive`, from, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      const body = (await res.json()) as { message?: string; redriven?: string };
      if (!res.ok) return fail(`run ${target} was not redriven (${res.status}): ${body.message ?? ''}`);
      io.write(`run ${target} redriven after ${body.redriven ?? 'its failure'}: it goes on where it failed`);
      return 0;
    }
    if (group === 'replay' && command) {
      // `replay <runId> [--out <file>]`: the positional after `replay` is the run id.
      const { url, from } = api();
      const res = await call(`${url}/runs/${encodeURIComponent(command)}`, from);
      const run = (await res.json()) as { trail?: StoredTrailEvent[]; message?: string };
      if (!res.ok || !run.trail)
        return fail(`GET /runs/${command} answered ${res.status}: ${run.message ?? ''}`);
      const file = resolve(out ?? `replay-${command}.mjs`);
      writeFileSync(file, replayModuleSource(command, run.trail));
      io.write(`wrote ${file}: replay it against your workflows with chaperone dev --scenario ${file}`);
      return 0;
    }
    if (group === 'memory' && (command === 'forget' || command === 'example') && target) {
      const flag = args[3];
      if (command === 'example' && flag !== 'true' && flag !== 'false')
        return fail('memory example <runId> true|false: say whether the run may be an example');
      const { url, from } = api();
      const res = await call(
        `${url}/runs/${encodeURIComponent(target)}/memory`,
        from,
        command === 'forget'
          ? { method: 'DELETE' }
          : {
              method: 'PUT',
              body: JSON.stringify({ example: flag === 'true' }),
              headers: { 'content-type': 'application/json' },
            },
      );
      const body = (await res.json()) as { message?: string };
      if (!res.ok)
        return fail(
          `${command === 'forget' ? 'DELETE' : 'PUT'} /runs/${target}/memory answered ${res.status}: ${body.message ?? ''}`,
        );
      io.write(
        command === 'forget'
          ? `forgot the episode of run ${target}`
          : `run ${target} ${flag === 'true' ? 'may be' : 'is no longer'} an example`,
      );
      return 0;
    }
    if (group === 'approvals' && command === 'list') {
      const { url, from } = api();
      const res = await call(`${url}/approvals?status=${encodeURIComponent(status ?? 'pending')}`, from);
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
      // A local link names the port its stack had then: send it to the stack running now, never to
      // whatever else listens on the old port.
      const running = apiFlag || io.env.CHAPERONE_API_URL ? undefined : readRunningStack(dataDir);
      const link = running ? resolveLink(target, running.apiUrl) : target;
      if (link !== target)
        io.write(`(the link names an earlier address of the local stack; using ${running?.apiUrl})`);
      return decide(
        link,
        command,
        comment ?? '',
        io.write,
        running ? `the local stack in ${dataDir}` : 'the link',
      );
    }
    return fail(CLI_USAGE);
  }
}

async function decide(
  link: string,
  decision: 'approve' | 'reject',
  comment: string,
  write: Write,
  from: string,
): Promise<number> {
  const page = await call(link, from, { headers: { accept: 'text/html' } });
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
  const res = await call(form.action, from, {
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
