/**
 * The scripted model: an HTTP server on loopback that speaks the Anthropic
 * Messages API (`POST /v1/messages`) and Amazon Bedrock's InvokeModel for
 * Claude (`POST /model/{modelId}/invoke`, SigV4-signed), so tests and the local
 * demo exercise the real Anthropic and Bedrock SDKs end to end. Both play the
 * same script with the same faults. It never logs; whatever it could not
 * answer is in `exhausted()`.
 */
import { appendFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LocalGuardrails } from '../aws/bedrock-guardrails.js';
import type { LocalCredentials } from '../aws/local-credentials.js';
import { bedrockError, bedrockSignatureProblem, parseBedrockPath, parseInvokeBody } from './bedrock.js';
import { type MessagesBody, parseMessagesBody, promptSize } from './request.js';
import { buildError, buildMessage, IdSequence } from './response.js';
import { type Action, ScriptPlayer } from './script-player.js';
import { toSseEvents } from './sse.js';
import type { RecordedRequest, Scenario, ScriptedTurn } from './types.js';

const MAX_BODY_BYTES = 32 * 1024 * 1024;
const REDACTED_HEADERS = new Set(['x-api-key', 'authorization']);

/** Options of {@link ScriptedModel.start}. */
export interface ScriptedModelOptions {
  /** @default 0 (a free port) */
  port?: number;
  /** The tag in generated ids; set it where a test compares ids across servers. @default random per server */
  idInstance?: string;
  /**
   * A JSONL file to append every well-formed request to (one {@link LoggedRequest}
   * per line), across restarts: how `npm run chaos` counts repeated calls.
   * @default `CHAPERONE_SCRIPTED_MODEL_LOG` from the environment, else none
   */
  requestLog?: string;
  /**
   * The key pair Bedrock requests must be signed with; their SigV4 signature is
   * then verified. Without it a Bedrock request needs only a SigV4
   * `Authorization` for the `bedrock` service.
   * @default none
   */
  bedrockCredentials?: LocalCredentials;
}

/** One line of the request log. */
export interface LoggedRequest {
  at: number;
  /** The process that served it (a restart changes it). */
  pid: number;
  instance: string;
  requestId: string;
  conversation: string;
  turnIndex: number;
  /** Attempt at this turn of this conversation, counted within one server. */
  attempt: number;
  messages: MessagesBody['messages'];
}

/** A scripted stand-in for the Anthropic Messages API on 127.0.0.1. */
export class ScriptedModel {
  private readonly player = new ScriptPlayer();
  private readonly ids: IdSequence;
  private readonly pending = new Set<() => void>();
  private readonly requestLog: string | undefined;
  private readonly bedrockCredentials: LocalCredentials | undefined;
  /** Bedrock Guardrails' ApplyGuardrail on the same Bedrock Runtime endpoint (`local/aws/bedrock-guardrails.ts`). */
  readonly guardrails = new LocalGuardrails();

  private constructor(
    private readonly server: Server,
    /** The SDKs' `baseURL` (Anthropic and Bedrock alike), e.g. `http://127.0.0.1:54321`. */
    readonly url: string,
    opts: ScriptedModelOptions,
  ) {
    this.ids = new IdSequence(opts.idInstance);
    this.requestLog = opts.requestLog ?? (process.env.CHAPERONE_SCRIPTED_MODEL_LOG || undefined);
    this.bedrockCredentials = opts.bedrockCredentials;
  }

  /** The tag in this server's ids (`toolu_scripted_<tag>_000001`), unique per server unless set. */
  get idInstance(): string {
    return this.ids.instance;
  }

  /** Starts a server on 127.0.0.1; port 0 (the default) picks a free one. */
  static async start(opts: ScriptedModelOptions = {}): Promise<ScriptedModel> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address: AddressInfo | string | null = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const model = new ScriptedModel(server, `http://127.0.0.1:${port}`, opts);
    server.on('request', (req, res) => void model.handle(req, res));
    return model;
  }

  /** Every well-formed request since the last `use`, in arrival order. */
  get requests(): RecordedRequest[] {
    return this.player.requests;
  }

  /** Replaces the active scenario; attempt counters, requests and problems start afresh. */
  use(scenario: Scenario): void {
    this.player.use(scenario);
  }

  /**
   * Every request the script could not answer since the last `use` (ran out of
   * turns, `respond` threw, no scenario): assert this is empty after a test.
   */
  exhausted(): string[] {
    return [...this.player.problems];
  }

  /** Appends the request just recorded to the request log, if there is one (survives kill -9: no buffering). */
  private log(requestId: string): void {
    const request = this.player.requests.at(-1);
    if (!this.requestLog || !request) return;
    const { at, conversation, turnIndex, attempt, body } = request;
    const line: LoggedRequest = {
      at,
      pid: process.pid,
      instance: this.ids.instance,
      requestId,
      conversation,
      turnIndex,
      attempt,
      messages: body.messages,
    };
    appendFileSync(this.requestLog, `${JSON.stringify(line)}\n`, { mode: 0o600 });
  }

  /** Stops listening, drops open connections and cancels pending slow answers. */
  async close(): Promise<void> {
    for (const cancel of this.pending) cancel();
    this.pending.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = this.ids.next('req');
    const path = (req.url ?? '').split('?')[0] ?? '';
    const bedrock = parseBedrockPath(path);
    const api: Api = bedrock ? 'bedrock' : 'messages';
    try {
      if (req.method === 'POST' && LocalGuardrails.handles(path))
        return await this.applyGuardrail(req, res, path, requestId);
      if (req.method !== 'POST' || (path !== '/v1/messages' && !bedrock)) {
        return sendError(
          res,
          api,
          404,
          `scripted model serves POST /v1/messages and POST /model/{modelId}/invoke, not ${req.method} ${path}`,
          requestId,
        );
      }
      const raw = await readBody(req);
      if (raw === undefined) return sendError(res, api, 413, 'request body too large', requestId);
      let parsed: ReturnType<typeof parseMessagesBody>;
      if (bedrock) {
        const unsigned = bedrockSignatureProblem(req, raw, this.bedrockCredentials);
        if (unsigned)
          return sendError(res, api, unsigned.status, unsigned.message, requestId, false, {}, unsigned.name);
        if (bedrock.operation !== 'invoke')
          return sendError(
            res,
            api,
            400,
            `scripted Bedrock serves InvokeModel (POST /model/{modelId}/invoke), not ${bedrock.operation}`,
            requestId,
            false,
          );
        parsed = parseInvokeBody(raw.toString('utf8'), bedrock.modelId);
      } else {
        parsed = parseMessagesBody(raw.toString('utf8'));
      }
      if (!parsed.ok) return sendError(res, api, 400, parsed.message, requestId);
      const action = this.player.next(parsed.body, recordHeaders(req), Date.now(), api);
      this.log(requestId);
      await this.answer(action, parsed.body, res, requestId, api);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const action = this.player.problem(`scripted model: could not answer: ${reason}`);
      if (action.kind === 'problem' && !res.headersSent)
        sendError(res, api, 500, action.message, requestId, false);
    }
  }

  private async applyGuardrail(req: IncomingMessage, res: ServerResponse, path: string, requestId: string) {
    const raw = await readBody(req);
    if (raw === undefined) return sendError(res, 'bedrock', 413, 'request body too large', requestId);
    const unsigned = bedrockSignatureProblem(req, raw, this.bedrockCredentials);
    if (unsigned)
      return sendError(
        res,
        'bedrock',
        unsigned.status,
        unsigned.message,
        requestId,
        false,
        {},
        unsigned.name,
      );
    const out = this.guardrails.answer(path, raw.toString('utf8'), requestId);
    send(res, out.status, out.body, out.headers);
  }

  private async answer(
    action: Action,
    body: MessagesBody,
    res: ServerResponse,
    requestId: string,
    api: Api,
  ): Promise<void> {
    if (action.kind === 'problem') return sendError(res, api, 500, action.message, requestId, false);
    if (action.kind === 'fault' && action.fault.kind === 'status') {
      const { status, retryAfterSeconds, message, bedrockError: name } = action.fault;
      const headers: Record<string, string> = {};
      if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
      return sendError(
        res,
        api,
        status,
        message ?? `scripted fault: HTTP ${status}`,
        requestId,
        undefined,
        headers,
        name,
      );
    }
    const waitMs =
      action.kind === 'fault' && action.fault.kind === 'hang' ? action.fault.ms : action.turn.delayMs;
    if (waitMs !== undefined && waitMs > 0 && !(await this.wait(waitMs, res))) return;
    this.reply(action.turn, body, res, requestId, api);
  }

  private reply(
    turn: ScriptedTurn,
    body: MessagesBody,
    res: ServerResponse,
    requestId: string,
    api: Api,
  ): void {
    const message = buildMessage(turn, body.model, promptSize(body), this.ids);
    if (api === 'bedrock') {
      send(res, 200, JSON.stringify(message), {
        'x-amzn-requestid': requestId,
        'x-amzn-bedrock-input-token-count': String(message.usage.input_tokens),
        'x-amzn-bedrock-output-token-count': String(message.usage.output_tokens),
      });
      return;
    }
    if (body.stream === true) {
      const events = toSseEvents(message);
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        'request-id': requestId,
      });
      res.end(events);
      return;
    }
    send(res, 200, JSON.stringify(message), { 'request-id': requestId });
  }

  /** Waits `ms`; false if the client went away or the server closed meanwhile. */
  private wait(ms: number, res: ServerResponse): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (stillThere: boolean) => {
        clearTimeout(timer);
        res.off('close', onClose);
        this.pending.delete(cancel);
        resolve(stillThere);
      };
      const cancel = () => finish(false);
      const onClose = () => finish(false);
      const timer = setTimeout(() => finish(!res.destroyed), ms);
      this.pending.add(cancel);
      res.on('close', onClose);
    });
  }
}

function recordHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    out[name] = REDACTED_HEADERS.has(name) ? '[redacted]' : Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

/** Which wire API a request came in on. */
type Api = 'messages' | 'bedrock';

/** Reads the body's bytes; undefined when it exceeds the size limit. */
async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buf.length;
    if (size > MAX_BODY_BYTES) return undefined;
    parts.push(buf);
  }
  return Buffer.concat(parts);
}

function send(res: ServerResponse, status: number, json: string, headers: Record<string, string>): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(json);
}

/**
 * Answers with the error of the request's API: Anthropic's error JSON, or
 * Bedrock's (`x-amzn-ErrorType`, `{"message"}`; `bedrockName` overrides the
 * exception the status implies). `shouldRetry: false` sets `x-should-retry`
 * so the SDKs do not retry a script problem and bury it under attempts.
 */
function sendError(
  res: ServerResponse,
  api: Api,
  status: number,
  message: string,
  requestId: string,
  shouldRetry?: boolean,
  headers: Record<string, string> = {},
  bedrockName?: string,
): void {
  if (api === 'bedrock') {
    const error = bedrockError(status, message, requestId, bedrockName);
    const all: Record<string, string> = { ...error.headers, ...headers };
    if (shouldRetry !== undefined) all['x-should-retry'] = String(shouldRetry);
    send(res, status, error.body, all);
    return;
  }
  const all: Record<string, string> = { 'request-id': requestId, ...headers };
  if (shouldRetry !== undefined) all['x-should-retry'] = String(shouldRetry);
  send(res, status, JSON.stringify(buildError(status, message, requestId)), all);
}
