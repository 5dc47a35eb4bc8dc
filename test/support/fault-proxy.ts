import { createServer, type IncomingMessage, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What happens to the write a fault is aimed at. */
export type FaultKind =
  /** DynamoDB throttles it `times` times in a row (the SDK retries; past its attempts, ours). */
  | 'throttle'
  /** The process dies just before the write reaches DynamoDB: it never happens. */
  | 'crash-before'
  /** The write commits, then the process dies before it hears the answer. */
  | 'crash-after';

/** A fault on the `nth` write (1-based; of the writes `match` accepts, if given) counted from when it was armed. */
export interface Fault {
  kind: FaultKind;
  nth: number;
  /** Count only these writes. @default every write */
  match?: (write: SeenWrite) => boolean;
  /** For `throttle`: how many attempts of that write are throttled. @default 4 */
  times?: number;
}

/** One DynamoDB write request as the proxy saw it. */
export interface SeenWrite {
  operation: string;
  /** The sort keys it touches (`sk` of every item), for telling writes apart in a failure message. */
  keys: string[];
  /** What a single-item update does (`UpdateExpression`), for aiming at one kind of update. */
  update?: string;
}

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems', 'BatchWriteItem']);

const THROTTLED = {
  __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
  message: 'The level of configured provisioned throughput for the table was exceeded (injected)',
};

/** The error name a crashed process's pending calls fail with. */
export const CRASH = 'SimulatedCrash';

/** A request that reached DynamoDB through the proxy. */
export interface SeenRequest {
  operation: string;
  /** The sort keys it names (key conditions included). */
  keys: string[];
  responseBytes: number;
}

/**
 * A loopback proxy in front of dynalite that injects the faults a real
 * DynamoDB and a real Lambda cannot be made to produce on demand: throttling
 * of one chosen write, and a process that dies just before or just after one.
 * Everything else passes through untouched, so the handlers run with their
 * real SDK clients against the real local DynamoDB.
 *
 * A crash marks the proxy `dead`: every request fails until the invocation
 * that was running ends (`revive`), as nothing of a dead process reaches
 * DynamoDB. The harness's invoker turns that invocation into the error Lambda
 * reports for a function that died.
 */
export class FaultProxy {
  /** Writes seen since the last `arm`, in order. */
  readonly writes: SeenWrite[] = [];
  /**
   * Where the armed faults fired since the last `arm`: the index in `writes`
   * of each write a fault hit, with its kind. A test reads what was actually
   * hit from here instead of assuming the order of an earlier run.
   */
  readonly hits: Array<{ index: number; kind: FaultKind; write: SeenWrite }> = [];
  /**
   * Every request that reached DynamoDB (reads too), in order, with the bytes
   * of its answer: what an agent iteration costs in requests and read volume.
   */
  readonly requests: SeenRequest[] = [];
  private fault: Fault | undefined;
  private throttled = 0;
  /** The body of the write being throttled `times` times (its SDK retries send it again). */
  private throttledBody: string | undefined;
  /** Writes counted towards the armed fault's `nth`. */
  private aimed = 0;
  private deadFlag = false;
  /** Crashes injected since the proxy started. */
  crashes = 0;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(target: string): Promise<FaultProxy> {
    const upstream = new URL(target);
    let proxy: FaultProxy | undefined;
    const server = createServer((req, res) => {
      void (async () => {
        const body = await readBody(req);
        const answer = (proxy as FaultProxy).decide(req, body);
        if (answer === 'pass' || answer === 'pass-then-crash') {
          const out = await forward(upstream, req, body);
          (proxy as FaultProxy).requests.push({
            operation: String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '',
            keys: sortKeys(body),
            responseBytes: out.body.length,
          });
          if (answer === 'pass-then-crash') {
            // The write committed; the process dies before it reads the answer.
            res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
            res.end(
              JSON.stringify({ __type: `com.chaperone.test#${CRASH}`, message: 'process died (injected)' }),
            );
            return;
          }
          res.writeHead(out.status, out.headers).end(out.body);
          return;
        }
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify(answer));
      })().catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    proxy = new FaultProxy(server, `http://127.0.0.1:${port}`);
    return proxy;
  }

  private queue: Fault[] = [];

  /** Aim at one write (counting from now), at several in turn (each counted from the last one's firing), or none. */
  arm(fault: Fault | readonly Fault[] | undefined): void {
    const faults = fault === undefined ? [] : Array.isArray(fault) ? [...fault] : [fault as Fault];
    this.fault = faults.shift();
    this.queue = faults;
    this.throttled = 0;
    this.throttledBody = undefined;
    this.aimed = 0;
    this.writes.length = 0;
    this.hits.length = 0;
  }

  /** The armed fault fired: aim at the next one, counting from here. */
  private fired(): void {
    this.fault = this.queue.shift();
    this.aimed = 0;
    this.throttled = 0;
    this.throttledBody = undefined;
  }

  get dead(): boolean {
    return this.deadFlag;
  }

  private inflight = 0;

  /**
   * Run one invocation of the process the proxy serves. True when the process
   * died while it ran (every invocation in flight dies with it); the next
   * process starts once the last of them has ended.
   */
  async invocation<T>(run: () => Promise<T>): Promise<{ died: boolean; value?: T; error?: unknown }> {
    const before = this.crashes;
    this.inflight += 1;
    try {
      const value = await run();
      return { died: this.crashes > before || this.deadFlag, value };
    } catch (error) {
      return { died: this.crashes > before || this.deadFlag, error };
    } finally {
      this.inflight -= 1;
      if (this.inflight === 0) this.deadFlag = false;
    }
  }

  private decide(req: IncomingMessage, body: string): 'pass' | 'pass-then-crash' | Record<string, string> {
    const crash = { __type: `com.chaperone.test#${CRASH}`, message: 'process died (injected)' };
    if (this.deadFlag) return crash;
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    if (!WRITES.has(operation)) return 'pass';
    const fault = this.fault;
    if (fault?.kind === 'throttle' && this.throttledBody === body) {
      // The SDK sending the throttled write again: the same write, counted once.
      if (this.throttled < (fault.times ?? 4)) {
        this.throttled += 1;
        return THROTTLED;
      }
      this.fired();
      return 'pass';
    }
    const write = seenWrite(operation, body);
    this.writes.push(write);
    if (!fault?.match || fault.match(write)) this.aimed += 1;
    if (!fault || this.aimed !== fault.nth || (fault.match && !fault.match(write))) return 'pass';
    this.hits.push({ index: this.writes.length - 1, kind: fault.kind, write });
    switch (fault.kind) {
      case 'throttle':
        this.throttled = 1;
        // Throttled once and for all: whatever comes next is a new write (our own retry is a new request).
        if ((fault.times ?? 4) <= 1) this.fired();
        else this.throttledBody = body;
        return THROTTLED;
      case 'crash-before':
        this.fired();
        this.deadFlag = true;
        this.crashes += 1;
        return crash;
      case 'crash-after':
        this.fired();
        this.deadFlag = true;
        this.crashes += 1;
        return 'pass-then-crash';
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}

/** A write as the proxy records it: its sort keys and, for a single-item update, what it does. */
function seenWrite(operation: string, body: string): SeenWrite {
  const parsed = JSON.parse(body || '{}') as { UpdateExpression?: unknown };
  const update = typeof parsed.UpdateExpression === 'string' ? parsed.UpdateExpression : undefined;
  return { operation, keys: keysOf(parsed), ...(update ? { update } : {}) };
}

function sortKeys(body: string): string[] {
  return keysOf(JSON.parse(body || '{}'));
}

function keysOf(parsed: unknown): string[] {
  const found: string[] = [];
  JSON.stringify(parsed, (k, v: unknown) => {
    if (k === 'sk' && v && typeof v === 'object' && typeof (v as { S?: unknown }).S === 'string')
      found.push((v as { S: string }).S);
    return v;
  });
  return found;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function forward(
  upstream: URL,
  req: IncomingMessage,
  body: string,
): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    // The Host header stays as signed (SigV4 signs it): the proxy is invisible to the request.
    const headers = { ...req.headers };
    const out = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const h: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = v;
          resolve({ status: res.statusCode ?? 500, headers: h, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      },
    );
    out.on('error', reject);
    out.end(body);
  });
}
