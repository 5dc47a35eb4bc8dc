/** Command-line flags of `npm start`. */

/** What the user asked for. */
export interface StartArgs {
  help: boolean;
  /** Keep the stack running after the demo (or without one) and print the URLs. */
  serve: boolean;
  /** @default '.chaperone' */
  dataDir: string;
  port?: number;
  /** Wipe the data directory first. */
  reset: boolean;
  /** Approve approval emails automatically (demo only). */
  autoApprove: boolean;
  /** Skip the demo run (with --serve: only the dev server). */
  noDemo: boolean;
  /** Show the handlers' logs (Powertools INFO), failures' stacks and the demo's polling. */
  verbose: boolean;
  /** A host name the API answers besides 127.0.0.1, localhost and [::1]. */
  allowHost?: string;
  /** A scenario module for the scripted model (default export or `scenario`); default: the demo's. */
  scenario?: string;
  /** The demo's workflow and input. */
  workflow: string;
  input: unknown;
}

/** The usage text. */
export const USAGE = `Usage: npm start -- [options]

Runs Chaperone on this machine (no AWS account, no Docker): the same synthesised
template, with a local Step Functions runtime, DynamoDB (dynalite), an outbox
folder instead of SES, and the Anthropic API if ANTHROPIC_API_KEY is set or the
scripted model otherwise. Then it runs the demo: one invoice reconciliation.

Options:
  --serve            keep running as a dev server after the demo; print the URLs
  --no-demo          do not start the demo run (use with --serve)
  --auto-approve     approve the demo's approval email automatically (otherwise
                     decide at the prompt, or open the printed link; with a pipe
                     on stdin a line 'a' approves, 'r <why>' rejects)
  --data-dir <dir>   where tables, executions and the outbox live (default .chaperone)
  --port <n>         API port (default: the one this data dir used last, else a free one;
                     0: any free port — earlier links are resolved against the new one)
  --allow-host <name>  answer this Host name too (default: only 127.0.0.1, localhost, [::1])
  --reset            wipe the data directory first
  --scenario <file>  the scripted model's turns for your workflows (a module exporting
                     scenario(...) from chaperone/testing; default: the invoice demo's)
  --workflow <name>  workflow of the demo run (default invoice-reconciliation)
  --input <json>     input of the demo run (default {"invoiceId":"INV-000101"})
  --verbose          show the handlers' logs, failures' stack traces and every request
  --help             this text

Environment:
  CHAPERONE_DURABILITY  process (default): journals and tables survive a kill -9 of
                     this process; machine: a power cut too (every step waits for
                     an fdatasync)
`;

/** Thrown for flags that make no sense; the message is for the user. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Parses `argv` (without node and the script). */
export function parseStartArgs(argv: readonly string[]): StartArgs {
  const args: StartArgs = {
    help: false,
    serve: false,
    dataDir: '.chaperone',
    reset: false,
    autoApprove: false,
    noDemo: false,
    verbose: false,
    workflow: 'invoice-reconciliation',
    input: { invoiceId: 'INV-000101' },
  };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i] ?? '';
    const [flag, inline] = raw.includes('=')
      ? [raw.slice(0, raw.indexOf('=')), raw.slice(raw.indexOf('=') + 1)]
      : [raw, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--help':
      case '-h':
        args.help = true;
        break;
      case '--serve':
        args.serve = true;
        break;
      case '--no-demo':
        args.noDemo = true;
        break;
      case '--auto-approve':
        args.autoApprove = true;
        break;
      case '--reset':
        args.reset = true;
        break;
      case '--verbose':
        args.verbose = true;
        break;
      case '--data-dir':
        args.dataDir = value();
        break;
      case '--scenario':
        args.scenario = value();
        break;
      case '--workflow':
        args.workflow = value();
        break;
      case '--allow-host': {
        const name = value().toLowerCase();
        if (!/^[a-z0-9.-]+$/.test(name))
          throw new UsageError('--allow-host takes a host name, e.g. chaperone.test');
        args.allowHost = name;
        break;
      }
      case '--port': {
        const port = Number(value());
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new UsageError('--port must be an integer from 0 to 65535');
        args.port = port;
        break;
      }
      case '--input': {
        const text = value();
        try {
          args.input = JSON.parse(text);
        } catch {
          throw new UsageError(`--input is not JSON: ${text}`);
        }
        break;
      }
      default:
        throw new UsageError(`unknown option ${raw} (see --help)`);
    }
  }
  return args;
}
