import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendWhole } from '../../../local/fs-append.js';

/** The logs' append (the DynamoDB write log, the execution journals) on a disk that takes part of a write or fills up. */
describe('appendWhole', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const file = (text: string) => {
    const d = mkdtempSync(join(tmpdir(), 'chaperone-append-'));
    dirs.push(d);
    const f = join(d, 'log.jsonl');
    writeFileSync(f, text);
    return f;
  };

  it('continues a short write until the whole line is there', () => {
    const f = file('[1]\n');
    const fd = openSync(f, 'a');
    // A disk that takes at most 3 bytes a call.
    const short = (d: number, b: Buffer, o: number, n: number) => writeSync(d, b, o, Math.min(3, n));
    const length = appendWhole(fd, Buffer.from('["a long line"]\n'), 4, short);
    closeSync(fd);
    expect(readFileSync(f, 'utf8')).toBe('[1]\n["a long line"]\n');
    expect(length).toBe(Buffer.byteLength('[1]\n["a long line"]\n'));
  });

  it('cuts a write that fails part-way back off, so the next line does not follow a fragment', () => {
    const f = file('[1]\n');
    const fd = openSync(f, 'a');
    let calls = 0;
    const filling = (d: number, b: Buffer, o: number, n: number) => {
      calls += 1;
      if (calls > 1) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      return writeSync(d, b, o, Math.min(5, n));
    };
    expect(() => appendWhole(fd, Buffer.from('["lost"]\n'), 4, filling)).toThrow('ENOSPC');
    expect(readFileSync(f, 'utf8')).toBe('[1]\n');
    // Space again: the next line lands right after the last whole one.
    expect(appendWhole(fd, Buffer.from('[2]\n'), 4)).toBe(8);
    closeSync(fd);
    expect(readFileSync(f, 'utf8')).toBe('[1]\n[2]\n');
  });
});
