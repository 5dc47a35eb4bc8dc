import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileExecutionStore, MAX_OPEN_JOURNALS } from '../../../../local/sfn/execution-store.js';
import { tempDir } from './helpers.js';

/** This process's open descriptors on journal files under `root`. */
const openJournals = (root: string) =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      return target.startsWith(root) && target.endsWith('journal.jsonl');
    } catch {
      return false;
    }
  }).length;

const meta = (i: number) => ({
  id: `e${String(i).padStart(3, '0')}`,
  executionArn: `arn:aws:states:us-east-1:000000000000:execution:m:e${i}`,
  stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:m',
  name: `e${i}`,
  definition: '{}',
  input: '{}',
  startDate: new Date(0).toISOString(),
  roleArn: 'arn:aws:iam::000000000000:role/r',
});

const stores: FileExecutionStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
});

describe('journal descriptors', () => {
  it.skipIf(process.platform !== 'linux')(
    'stay open while executions take turns writing, and no more than the cap stay open',
    async () => {
      const dir = tempDir();
      const store = new FileExecutionStore(dir);
      stores.push(store);
      const root = join(dir, 'executions');
      // Ten executions taking turns, one line per commit: as ten concurrent runs write.
      const ten = Array.from({ length: 10 }, (_, i) => store.create(meta(i)));
      for (let round = 0; round < 3; round++)
        for (const [i, j] of ten.entries()) {
          j.appendRecord(`r${round}`, { i, round });
          await store.durable();
        }
      expect(openJournals(root)).toBe(10);
      // Every line is in its file, in order.
      const lines = readFileSync(join(root, 'e003', 'journal.jsonl'), 'utf8')
        .trim()
        .split('\n');
      expect(lines.map((l) => (JSON.parse(l) as { key: string }).key)).toEqual(['r0', 'r1', 'r2']);

      // Past the cap the least recently written are closed; a closed one reopens on its next line.
      const more = Array.from({ length: MAX_OPEN_JOURNALS }, (_, i) => store.create(meta(100 + i)));
      for (const j of more) {
        j.appendRecord('r0', {});
        await store.durable();
      }
      expect(openJournals(root)).toBe(MAX_OPEN_JOURNALS);
      ten[0]?.appendRecord('r3', {});
      await store.durable();
      expect(
        readFileSync(join(root, 'e000', 'journal.jsonl'), 'utf8')
          .trim()
          .split('\n'),
      ).toHaveLength(4);
      expect(openJournals(root)).toBe(MAX_OPEN_JOURNALS);

      await store.close();
      stores.pop();
      expect(openJournals(root)).toBe(0);
    },
  );
});
