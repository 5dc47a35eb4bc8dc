import { type ChildProcess, spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  fdatasync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createDocumentClient } from '../../../lambdas/adapters/dynamo-client.js';
import {
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '../../../lambdas/adapters/dynamo-http.js';
import {
  DynamoLogCorruptError,
  LOG_MAX_LINE_BYTES,
  LOG_READ_CHUNK_BYTES,
  type LogDisk,
  logLine,
} from '../../../local/aws/dynamo-log.js';
import { ensureTables, startLocalDynamo } from '../../../local/aws/dynamodb.js';
import type { Durability } from '../../../local/durability.js';
import { TABLES } from '../../support/agent-harness.js';

/**
 * The local DynamoDB's data directory (`local/aws/dynamo-log.ts`): dynalite
 * in memory, every write logged first. What was answered is there after a
 * kill -9, a torn last line is cut off, damage elsewhere is named and left
 * alone, an earlier version's LevelDB data is carried over, and one process
 * at a time holds the directory.
 */
const dirs: string[] = [];
const children: ChildProcess[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'chaperone-dynamo-log-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
process.env.AWS_ACCESS_KEY_ID = 'local';
process.env.AWS_SECRET_ACCESS_KEY = 'local';

async function open(dataDir: string) {
  const dynamo = await startLocalDynamo({ dataDir });
  await ensureTables(dynamo.client, TABLES.slice(0, 1));
  return { dynamo, db: createDocumentClient({ region: 'us-east-1', endpoint: dynamo.url }) };
}

async function items(db: ReturnType<typeof createDocumentClient>, prefix: string): Promise<number[]> {
  const out: number[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: 'Runs',
        KeyConditionExpression: 'pk = :p AND begins_with(sk, :s)',
        ExpressionAttributeValues: { ':p': 'W', ':s': prefix },
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    for (const i of page.Items ?? []) out.push(i.i as number);
    start = page.LastEvaluatedKey;
  } while (start);
  return out.sort((a, b) => a - b);
}

/** A closed data directory whose log holds one item (`W`, `I#1`), and that log's path. */
async function logOfOneItem(): Promise<{ dataDir: string; file: string }> {
  const dataDir = join(tempDir(), 'dynamo');
  const first = await open(dataDir);
  await first.db.send(new PutCommand({ TableName: 'Runs', Item: { pk: 'W', sk: 'I#1', i: 1 } }));
  await first.dynamo.close();
  return { dataDir, file: join(dataDir, 'store.jsonl') };
}

/**
 * A log disk that remembers what a power cut would keep: the log's text when
 * an fdatasync of it began, once that fdatasync has finished.
 */
function recordingLogDisk(file: string) {
  let kept = '';
  let syncs = 0;
  const disk: LogDisk = {
    fsync(fd, done) {
      syncs += 1;
      const taken = readFileSync(file, 'utf8');
      fdatasync(fd, (err) => {
        if (!err) kept = taken;
        done(err);
      });
    },
  };
  return { disk, kept: () => kept, syncs: () => syncs };
}

describe('durability of an answered write', () => {
  async function openWith(durability: Durability) {
    const dataDir = join(tempDir(), 'dynamo');
    const recording = recordingLogDisk(join(dataDir, 'store.jsonl'));
    const dynamo = await startLocalDynamo({ dataDir, durability, logDisk: recording.disk });
    await ensureTables(dynamo.client, TABLES.slice(0, 1));
    const db = createDocumentClient({ region: 'us-east-1', endpoint: dynamo.url });
    return { dynamo, db, ...recording };
  }

  it('machine: a put, an update and a transaction are answered only once their lines are fdatasynced; concurrent writes share syncs', async () => {
    const { dynamo, db, kept, syncs } = await openWith('machine');
    const before = syncs();
    const notKeptAtAnswer: string[] = [];
    const check = (what: string, mark: string) => {
      if (!kept().includes(mark)) notKeptAtAnswer.push(what);
    };
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        await db.send(
          new PutCommand({ TableName: 'Runs', Item: { pk: 'W', sk: `I#${i}`, i, mark: `put-${i}` } }),
        );
        check(`put ${i}`, `put-${i}`);
      }),
    );
    await db.send(
      new UpdateCommand({
        TableName: 'Runs',
        Key: { pk: 'W', sk: 'I#0' },
        UpdateExpression: 'SET mark = :m',
        ExpressionAttributeValues: { ':m': 'updated-0' },
      }),
    );
    check('update', 'updated-0');
    await db.send(
      new TransactWriteCommand({
        TransactItems: [
          { Put: { TableName: 'Runs', Item: { pk: 'W', sk: 'T#1', mark: 'tx-a' } } },
          { Put: { TableName: 'Runs', Item: { pk: 'W', sk: 'T#2', mark: 'tx-b' } } },
        ],
      }),
    );
    check('transaction', 'tx-b');
    const used = syncs() - before;
    await dynamo.close();
    expect(notKeptAtAnswer).toEqual([]);
    // Twenty puts at once, one update, one transaction: group commits, not one sync per write.
    expect(used).toBeGreaterThanOrEqual(3);
    expect(used).toBeLessThan(22);
  });

  it('machine: no reader sees a write before its line is fdatasynced', async () => {
    const dataDir = join(tempDir(), 'dynamo');
    let release: () => void = () => undefined;
    let holding = false;
    const disk: LogDisk = {
      fsync(fd, done) {
        if (!holding) return fdatasync(fd, done);
        release = () => fdatasync(fd, done);
      },
    };
    const dynamo = await startLocalDynamo({ dataDir, durability: 'machine', logDisk: disk });
    await ensureTables(dynamo.client, TABLES.slice(0, 1));
    const db = createDocumentClient({ region: 'us-east-1', endpoint: dynamo.url });
    holding = true;
    let answered = false;
    const put = db
      .send(new PutCommand({ TableName: 'Runs', Item: { pk: 'W', sk: 'I#held', i: 1 } }))
      .then(() => {
        answered = true;
      });
    await new Promise((r) => setTimeout(r, 50));
    const during = await db.send(
      new GetCommand({ TableName: 'Runs', Key: { pk: 'W', sk: 'I#held' }, ConsistentRead: true }),
    );
    const listed = await items(db, 'I#');
    const answeredDuring = answered;
    holding = false;
    release();
    await put;
    const after = await db.send(new GetCommand({ TableName: 'Runs', Key: { pk: 'W', sk: 'I#held' } }));
    await dynamo.close();
    expect({ answeredDuring, during: during.Item, listed }).toEqual({
      answeredDuring: false,
      during: undefined,
      listed: [],
    });
    expect(answered).toBe(true);
    expect(after.Item?.i).toBe(1);
  });

  it('process (the default): writes are answered once written, without waiting for a sync', async () => {
    const { dynamo, db, syncs } = await openWith('process');
    await db.send(new PutCommand({ TableName: 'Runs', Item: { pk: 'W', sk: 'I#1', i: 1 } }));
    const got = await db.send(new GetCommand({ TableName: 'Runs', Key: { pk: 'W', sk: 'I#1' } }));
    await dynamo.close();
    expect(got.Item?.i).toBe(1);
    expect(syncs()).toBe(0);
  });
});

describe('a log line', () => {
  it('is what JSON.stringify writes for the batch, built from the texts the store then keeps; a value that is not JSON is refused', () => {
    const ops = [
      {
        type: 'put' as const,
        key: 'item-Runs~abc/\u00e9/',
        value: { pk: { S: 'RUN#1 "quoted" \u{1F600}' }, n: { N: '1.50' } },
      },
      { type: 'del' as const, key: 'item-Runs~abd/' },
      { type: 'put' as const, key: 'index~x', value: [1, null, { a: [true, 'line\nbreak'] }] },
    ];
    const line = logLine(ops);
    expect(line.text).toBe(
      `${JSON.stringify(ops.map((op) => (op.type === 'put' ? [op.key, op.value] : [op.key])))}\n`,
    );
    expect(line.ops.map((op) => (op.type === 'put' ? op.text : undefined))).toEqual([
      JSON.stringify(ops[0]?.value),
      undefined,
      JSON.stringify(ops[2]?.value),
    ]);
    expect(() => logLine([{ type: 'put', key: 'k', value: undefined }])).toThrow(
      /the value at k is not JSON/,
    );
  });
});

describe('the local DynamoDB on disk', () => {
  it('keeps every answered write, and each transaction whole, across a kill -9 at a random moment, three times over', async () => {
    const dataDir = join(tempDir(), 'dynamo');
    const script = fileURLToPath(new URL('./fixtures/dynamo-writer.ts', import.meta.url));
    let answered = -1;
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', script, dataDir], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      children.push(child);
      const target = 40 + Math.floor(Math.random() * 80);
      let seen = 0;
      await new Promise<void>((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before it was killed`)));
        child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
          const lines = chunk.split('\n').filter(Boolean);
          seen += lines.length;
          answered = Number(lines.at(-1));
          if (seen >= target) resolve();
        });
      });
      child.removeAllListeners('exit');
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      // The next round's writer starts again from 0: the last round's items are overwritten, not lost.
      const { dynamo, db } = await open(dataDir);
      const got = await items(db, 'I#');
      const pairs = await items(db, 'T#');
      await dynamo.close();
      // Everything answered is there (a write in flight at the kill may be too).
      expect(got.slice(0, answered + 1)).toEqual(Array.from({ length: answered + 1 }, (_, i) => i));
      // Both items of each transaction, or neither.
      expect(pairs).toEqual(got.filter((i) => i % 2 === 1));
    }
  }, 90_000);

  it('cuts off a torn last line with a warning and keeps the rest', async () => {
    const { dataDir, file } = await logOfOneItem();
    const size = statSync(file).size;
    appendFileSync(file, '[["item-Runs~half');
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const again = await open(dataDir);
    const warned = stderr.mock.calls.map((c) => String(c[0])).join('');
    stderr.mockRestore();
    expect(warned).toContain('cut off a torn last line');
    expect(statSync(file).size).toBeGreaterThanOrEqual(size);
    expect(readFileSync(file, 'utf8').includes('half')).toBe(false);
    const got = await again.db.send(new GetCommand({ TableName: 'Runs', Key: { pk: 'W', sk: 'I#1' } }));
    expect(got.Item).toEqual({ pk: 'W', sk: 'I#1', i: 1 });
    await again.dynamo.close();
  });

  it('refuses a log damaged before its last line, naming the file and line, and leaves it as it was', async () => {
    const { dataDir, file } = await logOfOneItem();
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.splice(1, 0, 'garbage');
    writeFileSync(file, lines.join('\n'));
    const before = readFileSync(file);
    const err = await startLocalDynamo({ dataDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DynamoLogCorruptError);
    expect(err).toMatchObject({ file, line: 2 });
    expect((err as Error).message).toContain(`${file} is damaged at line 2`);
    expect(readFileSync(file).equals(before)).toBe(true);
    // Refused, not held: the directory is free for a repaired log.
    expect(existsSync(join(dataDir, 'store.lock'))).toBe(false);
  });

  it("carries an earlier version's LevelDB data over on first open", async () => {
    const dataDir = join(tempDir(), 'dynamo');
    // dynalite with a path: LevelDB on disk, as the local DynamoDB kept it before.
    const require = createRequire(import.meta.url);
    const dynalite = require('dynalite') as (o: Record<string, unknown>) => {
      listen(port: number, host: string, cb: () => void): void;
      address(): { port: number };
      close(cb: () => void): void;
    };
    const old = dynalite({ path: dataDir, createTableMs: 0 });
    await new Promise<void>((r) => old.listen(0, '127.0.0.1', r));
    const client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${old.address().port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    await client.send(
      new CreateTableCommand({
        TableName: 'Runs',
        KeySchema: TABLES[0]?.keySchema,
        AttributeDefinitions: TABLES[0]?.attributeDefinitions,
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    await client.send(
      new PutItemCommand({ TableName: 'Runs', Item: { pk: { S: 'W' }, sk: { S: 'OLD' }, i: { N: '7' } } }),
    );
    client.destroy();
    await new Promise<void>((r) => old.close(r));
    expect(existsSync(join(dataDir, 'CURRENT'))).toBe(true);

    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const now = await open(dataDir);
    const warned = stderr.mock.calls.map((c) => String(c[0])).join('');
    stderr.mockRestore();
    expect(warned).toContain('read the LevelDB data');
    const got = await now.db.send(new GetCommand({ TableName: 'Runs', Key: { pk: 'W', sk: 'OLD' } }));
    expect(got.Item).toEqual({ pk: 'W', sk: 'OLD', i: 7 });
    await now.dynamo.close();
  });

  it('rewrites a log grown far past its data as one snapshot when it opens, and keeps the data', async () => {
    const dataDir = join(tempDir(), 'dynamo');
    const first = await open(dataDir);
    // The same two items written over and over: 10,400 lines for two live items.
    for (let round = 0; round < 104; round++)
      await Promise.all(
        Array.from({ length: 100 }, (_, k) =>
          first.db.send(
            new PutCommand({ TableName: 'Runs', Item: { pk: 'W', sk: `I#${k % 2}`, i: round * 100 + k } }),
          ),
        ),
      );
    const before = await items(first.db, 'I#');
    await first.dynamo.close();
    const file = join(dataDir, 'store.jsonl');
    const grown = statSync(file).size;
    const again = await open(dataDir);
    expect(statSync(file).size).toBeLessThan(grown / 100);
    expect(readFileSync(file, 'utf8').trim().split('\n').length).toBe(1);
    expect(before).toHaveLength(2);
    expect(await items(again.db, 'I#')).toEqual(before);
    await again.dynamo.close();
  });

  it('opens a log read in many chunks, lines across their edges and one longer than a chunk, whole', async () => {
    const dataDir = join(tempDir(), 'dynamo');
    const first = await open(dataDir);
    // 100 KB items: about 40 lines per read chunk, most of them split across two chunks.
    const big = (k: number) => `${k}:`.padEnd(100_000, 'x');
    for (let k = 0; k < 100; k++)
      await first.db.send(
        new PutCommand({ TableName: 'Runs', Item: { pk: 'W', sk: `I#${k}`, i: k, big: big(k) } }),
      );
    // One transaction, one line of about 5 MB: longer than a chunk.
    await first.db.send(
      new TransactWriteCommand({
        TransactItems: Array.from({ length: 50 }, (_, k) => ({
          Put: { TableName: 'Runs', Item: { pk: 'W', sk: `T#${k}`, i: k, big: big(k) } },
        })),
      }),
    );
    await first.dynamo.close();
    const file = join(dataDir, 'store.jsonl');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(statSync(file).size).toBeGreaterThan(3 * LOG_READ_CHUNK_BYTES);
    expect(Math.max(...lines.map((l) => Buffer.byteLength(l)))).toBeGreaterThan(LOG_READ_CHUNK_BYTES);
    const again = await open(dataDir);
    expect(await items(again.db, 'I#')).toEqual(Array.from({ length: 100 }, (_, k) => k));
    expect(await items(again.db, 'T#')).toEqual(Array.from({ length: 50 }, (_, k) => k));
    const one = await again.db.send(new GetCommand({ TableName: 'Runs', Key: { pk: 'W', sk: 'I#57' } }));
    expect(one.Item?.big).toBe(big(57));
    await again.dynamo.close();
  });

  it('refuses a log whose last line runs on past any real line, by name, instead of reading it all in', async () => {
    const { dataDir, file } = await logOfOneItem();
    // A hole past the end: 300 MiB of zero bytes with no newline, as a damaged disk might leave.
    const size = statSync(file).size;
    const written = readFileSync(file, 'utf8').trim().split('\n').length;
    truncateSync(file, size + 300 * 1024 * 1024);
    const err = await startLocalDynamo({ dataDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DynamoLogCorruptError);
    expect(err).toMatchObject({ file, line: written + 1 });
    expect((err as Error).message).toContain(`longer than ${LOG_MAX_LINE_BYTES} bytes`);
    expect(statSync(file).size).toBe(size + 300 * 1024 * 1024);
  });

  it('is held by one process at a time', async () => {
    const dataDir = join(tempDir(), 'dynamo');
    const first = await open(dataDir);
    await expect(startLocalDynamo({ dataDir })).rejects.toThrow(`is open in process ${process.pid}`);
    await first.dynamo.close();
    expect(existsSync(join(dataDir, 'store.lock'))).toBe(false);
    const second = await open(dataDir);
    await second.dynamo.close();
  });

  it('refuses while another running process holds it, and takes over a lock whose holder is gone or its pid reused', async () => {
    const dataDir = join(tempDir(), 'dynamo');
    await (await open(dataDir)).dynamo.close();
    const lockFile = join(dataDir, 'store.lock');
    const ticksOf = (pid: number) => {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    };
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    children.push(other);
    await new Promise((r) => other.once('spawn', r));
    const pid = other.pid as number;
    const canReadProc = existsSync(`/proc/${pid}/stat`);
    // A running process's lock: refused.
    writeFileSync(
      lockFile,
      JSON.stringify({ pid, origin: 1, ...(canReadProc ? { ticks: ticksOf(pid) } : {}) }),
    );
    await expect(startLocalDynamo({ dataDir })).rejects.toThrow(`is open in process ${pid}`);
    // This process's pid, written by an earlier process that had it (a container's pid 1 after a kill -9): taken.
    writeFileSync(lockFile, JSON.stringify({ pid: process.pid, origin: performance.timeOrigin - 1 }));
    await (await open(dataDir)).dynamo.close();
    if (canReadProc) {
      // A live pid that started at another moment than the holder did: reused, so taken.
      writeFileSync(lockFile, JSON.stringify({ pid, origin: 1, ticks: ticksOf(pid) - 1 }));
      await (await open(dataDir)).dynamo.close();
    }
    // A process that is gone: taken.
    other.kill('SIGKILL');
    await new Promise((r) => other.once('exit', r));
    writeFileSync(lockFile, JSON.stringify({ pid, origin: 1 }));
    const last = await open(dataDir);
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: process.pid });
    await last.dynamo.close();
    expect(existsSync(lockFile)).toBe(false);
  });
});
