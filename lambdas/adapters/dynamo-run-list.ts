import type { ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { ListedRun, RunLister } from '../core/console/run-list.js';
import { storeError } from './dynamo-client.js';
import { type DocumentClient, ScanCommand } from './dynamo-http.js';
import { parseLedger, parseRunMeta } from './run-item-parsers.js';

/**
 * The console's runs list over the Runs table: a scan of the `META` and
 * `LEDGER` items (the table has no index by time; a console reads at most
 * {@link MAX_LISTED_RUNS} runs), newest first. Items are parsed as the run
 * store parses them.
 */
export class DynamoRunList implements RunLister {
  constructor(
    private readonly db: DocumentClient,
    private readonly table: string,
  ) {}

  async listRuns(limit: number): Promise<ListedRun[]> {
    const metas = new Map<string, ListedRun>();
    const ledgers = new Map<string, Record<string, unknown>>();
    let start: Record<string, unknown> | undefined;
    do {
      let out: ScanCommandOutput;
      try {
        out = await this.db.send(
          new ScanCommand({
            TableName: this.table,
            FilterExpression: 'sk IN (:meta, :ledger)',
            ExpressionAttributeValues: { ':meta': 'META', ':ledger': 'LEDGER' },
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
      } catch (err) {
        throw storeError(err, 'Runs table (the runs list)');
      }
      for (const item of out.Items ?? []) {
        const runKey = String(item.pk);
        if (!runKey.startsWith('RUN#')) continue;
        if (item.sk === 'META') metas.set(runKey, { meta: parseRunMeta(item) });
        else ledgers.set(runKey, item);
      }
      start = out.LastEvaluatedKey;
    } while (start);
    for (const [key, run] of metas) {
      const ledger = ledgers.get(key);
      if (ledger) run.ledger = parseLedger(ledger);
    }
    return [...metas.values()]
      .sort((a, b) =>
        a.meta.createdAt === b.meta.createdAt
          ? b.meta.runId.localeCompare(a.meta.runId)
          : b.meta.createdAt.localeCompare(a.meta.createdAt),
      )
      .slice(0, limit);
  }
}
