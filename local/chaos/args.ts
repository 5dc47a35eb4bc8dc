/** Flags of `npm run chaos`. */

export interface ChaosArgs {
  /** Runs of the invoice workflow to post. */
  runs: number;
  /** SIGKILLs of the server, at least (random moments, after payments, during approval POSTs). */
  kills: number;
  seed: number;
  json: boolean;
  /** Wall-clock budget for the runs to finish, after which the figures are taken as they are. */
  deadlineSeconds: number;
  /** Keep the data directory (its path is printed). */
  keep: boolean;
  help: boolean;
}

export const CHAOS_USAGE = `Usage: npm run chaos -- [options]

The kill -9 fuzz: starts the local dev server (npm start -- --serve --no-demo) on a temp data
dir, posts invoice-reconciliation runs over the HTTP API (retrying cut-off POSTs with the same
runId), SIGKILLs the server at random moments, right after payments commit and during approval
POSTs, restarts it on the same data dir, approves through the emailed links, then reads the truth
(runs API, trail, backend payments, ledger, the scripted model's request log) and prints one table.

Options:
  --runs <n>       runs to post (default 50)
  --kills <n>      server kills, at least (default 20)
  --seed <n>       random seed (default: time-based; printed)
  --deadline <s>   seconds for every run to finish after the last post (default 240)
  --json           print the figures as one JSON object on stdout
  --keep           keep the data directory
  --help           this text
`;

export class ChaosUsageError extends Error {
  override readonly name = 'ChaosUsageError';
}

export function parseChaosArgs(argv: readonly string[]): ChaosArgs {
  const args: ChaosArgs = {
    runs: 50,
    kills: 20,
    seed: Date.now() % 1_000_000,
    json: false,
    deadlineSeconds: 240,
    keep: false,
    help: false,
  };
  const int = (flag: string, raw: string | undefined, min: number): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new ChaosUsageError(`${flag} needs an integer >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    switch (flag) {
      case '--runs':
        args.runs = int(flag, argv[++i], 1);
        break;
      case '--kills':
        args.kills = int(flag, argv[++i], 0);
        break;
      case '--seed':
        args.seed = int(flag, argv[++i], 0);
        break;
      case '--deadline':
        args.deadlineSeconds = int(flag, argv[++i], 10);
        break;
      case '--json':
        args.json = true;
        break;
      case '--keep':
        args.keep = true;
        break;
      case '--help':
      case '-h':
        args.help = true;
        break;
      default:
        throw new ChaosUsageError(`unknown option ${flag} (see --help)`);
    }
  }
  return args;
}

/** A small seeded PRNG (mulberry32): the same seed plays the same schedule of posts and kills. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
