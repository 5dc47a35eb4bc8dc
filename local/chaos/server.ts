/**
 * The dev server as a child process: `tsx local/cli/start.ts --serve --no-demo`
 * on the chaos data dir, its URLs read off its "Ready" line, killed with
 * SIGKILL and started again on the same directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** Where a running server answers. */
export interface ServerUrls {
  api: string;
  sfn: string;
  dynamo: string;
}

/** Options of {@link DevServer}. */
export interface DevServerOptions {
  repoRoot: string;
  dataDir: string;
  /** The scripted model's request log. */
  requestLog: string;
  /** Called for every stderr line (boot reports, crashes). */
  onStderr?: (line: string) => void;
}

/** One server process at a time, restartable. */
export class DevServer {
  private child: ChildProcess | undefined;
  private exited: Promise<NodeJS.Signals | number | null> | undefined;
  urls: ServerUrls | undefined;
  /** Exits by SIGKILL (ours or the server's own crash-after fault). */
  kills = 0;
  /** Epoch ms of every SIGKILL exit. */
  readonly killTimes: number[] = [];
  starts = 0;

  constructor(private readonly options: DevServerOptions) {}

  get up(): boolean {
    return this.child !== undefined && this.urls !== undefined;
  }

  /** Starts the server; `faults` arms the invoice backend's faults in it (INVOICE_BACKEND_FAULTS). */
  async start(faults?: Record<string, unknown>): Promise<ServerUrls> {
    if (this.child) throw new Error('the dev server is already running');
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    delete env.ANTHROPIC_API_KEY;
    delete env.INVOICE_BACKEND_FAULTS;
    env.CHAPERONE_SCRIPTED_MODEL_LOG = this.options.requestLog;
    env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
    if (faults) env.INVOICE_BACKEND_FAULTS = JSON.stringify(faults);
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(this.options.repoRoot, 'local/cli/start.ts'),
        '--serve',
        '--no-demo',
        '--data-dir',
        this.options.dataDir,
      ],
      { cwd: this.options.repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    this.starts += 1;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        if (signal === 'SIGKILL') {
          this.kills += 1;
          this.killTimes.push(Date.now());
        }
        if (this.child === child) {
          this.child = undefined;
          this.urls = undefined;
        }
        resolve(signal ?? code);
      });
    });
    let stderrTail = '';
    lines(child.stderr, (line) => {
      stderrTail = `${stderrTail}\n${line}`.slice(-2000);
      this.options.onStderr?.(line);
    });
    const urls = await new Promise<ServerUrls>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the dev server did not get ready in 90 s:${stderrTail}`)),
        90_000,
      );
      lines(child.stdout, (line) => {
        const m = /Ready in .*API (\S+) · Step Functions (\S+) · DynamoDB (\S+)/.exec(line);
        if (m?.[1] && m[2] && m[3]) {
          clearTimeout(timer);
          resolve({ api: m[1], sfn: m[2], dynamo: m[3] });
        }
      });
      void this.exited?.then((how) => {
        clearTimeout(timer);
        reject(new Error(`the dev server exited (${String(how)}) before it was ready:${stderrTail}`));
      });
    });
    if (this.child === child) this.urls = urls;
    return urls;
  }

  /** SIGKILL, then wait for the exit. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.urls = undefined;
    child.kill('SIGKILL');
    await this.exited;
  }

  /** Waits until the current process exits (it may kill itself: a crash-after fault). */
  async waitForExit(): Promise<void> {
    await this.exited;
  }

  /** A graceful stop (SIGTERM), for the end. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }
}

function lines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let buf = '';
  stream.on('data', (chunk: Buffer) => {
    buf += chunk.toString('utf8');
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}
