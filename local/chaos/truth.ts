/**
 * Reading what really happened, from outside the server: the runs API, the
 * Step Functions API, the tables in the server's DynamoDB (through its
 * endpoint, signed with the data dir's credentials), the outbox and the
 * scripted model's request log.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { LoggedRequest } from '../scripted-model/index.js';
import type { TrailEvent } from './figures.js';
import type { ServerUrls } from './server.js';

/** The data dir's credentials (`credentials.json` when the stack signs with its own), else the well-known pair. */
export function credentialsOf(dataDir: string): { accessKeyId: string; secretAccessKey: string } {
  const file = join(dataDir, 'credentials.json');
  if (existsSync(file)) {
    const v = JSON.parse(readFileSync(file, 'utf8')) as { accessKeyId?: unknown; secretAccessKey?: unknown };
    if (typeof v.accessKeyId === 'string' && typeof v.secretAccessKey === 'string')
      return { accessKeyId: v.accessKeyId, secretAccessKey: v.secretAccessKey };
  }
  return { accessKeyId: 'local', secretAccessKey: 'local' };
}

/** Points the invoice backend module (used in this process) at the server's table. */
export async function useServerBackend(urls: ServerUrls, dataDir: string): Promise<{ runsTable: string }> {
  const credentials = credentialsOf(dataDir);
  const client = new DynamoDBClient({ endpoint: urls.dynamo, region: 'us-east-1', credentials });
  const names = (await client.send(new ListTablesCommand({}))).TableNames ?? [];
  client.destroy();
  // Logical ids carry the construct's path (`AgentsRunsTable…` inside the Chaperone construct, `RunsTable…`
  // at the top): one table must match each name, wherever it sits.
  const only = (part: string): string | undefined => {
    const found = names.filter((n) => n.includes(part));
    return found.length === 1 ? found[0] : undefined;
  };
  const backendTable = only('InvoiceBackend');
  const runsTable = only('RunsTable');
  if (!backendTable || !runsTable)
    throw new Error(
      `the server's DynamoDB lacks one InvoiceBackend and one RunsTable table: ${names.join(', ')}`,
    );
  process.env.AWS_ENDPOINT_URL_DYNAMODB = urls.dynamo;
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
  process.env.INVOICE_BACKEND_TABLE = backendTable;
  return { runsTable };
}

/** GET /runs/{id}: the run's status, why it ended (unless it succeeded) and trail, or undefined for 404. */
export async function getRun(
  api: string,
  runId: string,
): Promise<{ status: string; endDetail?: string; trail: TrailEvent[] } | undefined> {
  const res = await fetch(`${api}/runs/${runId}`, { signal: AbortSignal.timeout(10_000) });
  if (res.status === 404) return undefined;
  if (!res.ok) throw new Error(`GET /runs/${runId} answered ${res.status}`);
  const body = (await res.json()) as {
    status: string;
    stopReason?: string;
    stopDetail?: string;
    error?: string;
    trail?: TrailEvent[];
  };
  const why = [body.stopReason, body.stopDetail ?? body.error].filter(Boolean).join(': ');
  return { status: body.status, ...(why ? { endDetail: why } : {}), trail: body.trail ?? [] };
}

/** Execution status by execution name (the run id). */
export async function executionsByName(urls: ServerUrls, dataDir: string): Promise<Map<string, string>> {
  const sfn = new SFNClient({ endpoint: urls.sfn, region: 'us-east-1', credentials: credentialsOf(dataDir) });
  const out = new Map<string, string>();
  let nextToken: string | undefined;
  try {
    do {
      const page = await sfn.send(
        new ListExecutionsCommand({ maxResults: 1000, ...(nextToken ? { nextToken } : {}) }),
      );
      for (const e of page.executions ?? []) if (e.name && e.status) out.set(e.name, e.status);
      nextToken = page.nextToken;
    } while (nextToken);
  } finally {
    sfn.destroy();
  }
  return out;
}

/** The run's ledger item (`RUN#id / LEDGER`). */
export async function ledgerOf(
  urls: ServerUrls,
  dataDir: string,
  runsTable: string,
  runId: string,
): Promise<{ tokenLimit: number; tokensRemaining: number; tokensUsed: number } | undefined> {
  const client = new DynamoDBClient({
    endpoint: urls.dynamo,
    region: 'us-east-1',
    credentials: credentialsOf(dataDir),
  });
  const db = DynamoDBDocumentClient.from(client);
  try {
    const res = await db.send(
      new GetCommand({
        TableName: runsTable,
        Key: { pk: `RUN#${runId}`, sk: 'LEDGER' },
        ConsistentRead: true,
      }),
    );
    const item = res.Item;
    if (!item) return undefined;
    return {
      tokenLimit: Number(item.tokenLimit),
      tokensRemaining: Number(item.tokensRemaining),
      tokensUsed: Number(item.tokensUsed),
    };
  } finally {
    client.destroy();
  }
}

/** Approval links in the outbox, with the run each email is about (read off its text). */
export function outboxApprovals(
  outboxDir: string,
  runIdPattern: RegExp,
): Array<{ approvalId: string; runId: string | undefined; link: string }> {
  if (!existsSync(outboxDir)) return [];
  const out: Array<{ approvalId: string; runId: string | undefined; link: string }> = [];
  for (const f of readdirSync(outboxDir).sort()) {
    if (!f.endsWith('.json')) continue;
    let email: { links?: string[]; text?: string; subject?: string; html?: string };
    try {
      email = JSON.parse(readFileSync(join(outboxDir, f), 'utf8')) as typeof email;
    } catch {
      continue; // being written
    }
    const link = email.links?.find((l) => l.includes('/approvals/'));
    if (!link) continue;
    const approvalId = new URL(link).pathname.split('/').at(-1) ?? '';
    const runId = runIdPattern.exec(`${email.subject ?? ''} ${email.text ?? ''} ${email.html ?? ''}`)?.[0];
    out.push({ approvalId, runId, link });
  }
  return out;
}

/** The scripted model's request log (a torn last line from a kill is skipped). */
export function readRequestLog(file: string): LoggedRequest[] {
  if (!existsSync(file)) return [];
  const out: LoggedRequest[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as LoggedRequest);
    } catch {
      // the line a kill cut short
    }
  }
  return out;
}
