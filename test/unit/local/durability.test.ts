import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startLocalDynamo } from '../../../local/aws/dynamodb.js';
import { main } from '../../../local/cli/start.js';
import { type Durability, DurabilityError, durabilityFromEnv } from '../../../local/durability.js';
import { startLocalStack } from '../../../local/runtime/stack.js';
import { FileExecutionStore } from '../../../local/sfn/execution-store.js';
import { LocalStepFunctions, MapLambdaInvoker } from '../../../local/sfn/index.js';

describe('CHAPERONE_DURABILITY', () => {
  it('is process when unset or empty, and either level by name', () => {
    expect(durabilityFromEnv({})).toBe('process');
    expect(durabilityFromEnv({ CHAPERONE_DURABILITY: ' ' })).toBe('process');
    expect(durabilityFromEnv({ CHAPERONE_DURABILITY: 'machine' })).toBe('machine');
    expect(durabilityFromEnv({ CHAPERONE_DURABILITY: 'process' })).toBe('process');
  });

  it('refuses any other value by name instead of quietly meaning the default', () => {
    expect(() => durabilityFromEnv({ CHAPERONE_DURABILITY: 'fsync' })).toThrow(DurabilityError);
    expect(() => durabilityFromEnv({ CHAPERONE_DURABILITY: 'Machine' })).toThrow(
      `CHAPERONE_DURABILITY="Machine" is not a durability level: use 'process' or 'machine'`,
    );
  });

  it('npm start with a misspelt level says so and exits 2 before it starts anything', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'chaperone-durability-')), 'data');
    const lines: string[] = [];
    try {
      const code = await main(['--data-dir', dataDir], (l) => lines.push(l), {
        CHAPERONE_DURABILITY: 'power',
      });
      expect(code).toBe(2);
      expect(lines).toEqual([
        `npm start: CHAPERONE_DURABILITY="power" is not a durability level: use 'process' or 'machine'`,
      ]);
      expect(() => readdirSync(dataDir)).toThrow(/ENOENT/);
    } finally {
      rmSync(join(dataDir, '..'), { recursive: true, force: true });
    }
  });
});

describe('the durability option, from JavaScript', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = mkdtempSync(join(tmpdir(), 'chaperone-durability-opt-'));
    dirs.push(d);
    return d;
  };
  it('refuses a level the types would refuse, naming the option, at every entry point', async () => {
    try {
      const bad = 'mashine' as unknown as Durability;
      expect(() => new LocalStepFunctions({ invoker: new MapLambdaInvoker({}), durability: bad })).toThrow(
        `the local Step Functions option durability "mashine" is not a durability level: use 'process' or 'machine'`,
      );
      expect(() => new FileExecutionStore(dir(), { durability: bad })).toThrow(DurabilityError);
      await expect(startLocalDynamo({ dataDir: join(dir(), 'dynamo'), durability: bad })).rejects.toThrow(
        `the local DynamoDB option durability "mashine" is not a durability level`,
      );
      // Falsy values too: none of them quietly means the default.
      for (const falsy of ['', null, false] as unknown as Durability[])
        await expect(startLocalDynamo({ dataDir: join(dir(), 'dynamo'), durability: falsy })).rejects.toThrow(
          DurabilityError,
        );
      await expect(
        startLocalStack({ template: {} as never, dataDir: join(dir(), 'stack'), durability: bad } as never),
      ).rejects.toThrow(`the local stack option durability "mashine" is not a durability level`);
      // Either level by name is taken.
      const store = new FileExecutionStore(dir(), { durability: 'machine' });
      await store.close();
      const dynamo = await startLocalDynamo({ dataDir: join(dir(), 'ok'), durability: 'process' });
      await dynamo.close();
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  });
});
