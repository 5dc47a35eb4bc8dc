import { fileURLToPath } from 'node:url';

/** Absolute path of the repository root (handler paths and the lock file are relative to it). */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
