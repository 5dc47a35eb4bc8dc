import { closeSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';

/**
 * Appends `bytes` to `fd`, whose file is `length` bytes long, all of it or
 * none: a short write is continued, and a write that fails part-way (a full
 * disk) is cut back off, so no fragment is left for the next line to follow.
 * Returns the new length. `write` is `fs.writeSync`; a test passes one that
 * takes part of the bytes or fails, as a full disk does.
 */
export function appendWhole(
  fd: number,
  bytes: Buffer,
  length: number,
  write: (fd: number, bytes: Buffer, offset: number, count: number) => number = writeSync,
): number {
  let done = 0;
  try {
    while (done < bytes.length) done += write(fd, bytes, done, bytes.length - done);
  } catch (err) {
    if (done > 0) ftruncateSync(fd, length);
    throw err;
  }
  return length + bytes.length;
}

/** fsyncs the file or directory at `path` (a directory: the entries naming what is in it). */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
