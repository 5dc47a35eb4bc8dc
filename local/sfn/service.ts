import type {
  DescribeExecutionOutput,
  DescribeStateMachineOutput,
  ExecutionListItem,
  GetExecutionHistoryOutput,
  ListExecutionsOutput,
  ListStateMachinesOutput,
  StartExecutionOutput,
} from '@aws-sdk/client-sfn';
import { ulid } from 'ulid';
import { pooledPrng } from '../../lambdas/core/id-random.js';
import { durabilityOption } from '../durability.js';
import { systemClock } from './clock.js';
import { parseDefinition } from './definition.js';
import { driveExecution } from './driver.js';
import { ExecutionAbortedError, SfnApiError } from './errors.js';
import { type CallbackMessage, ExecutionRun, TERMINAL } from './execution.js';
import { type ExecutionStore, FileExecutionStore, MemoryExecutionStore } from './execution-store.js';
import type { HistoryEvent } from './history.js';
import { JournalCorruptError } from './journal-errors.js';
import { type Machine, MachineRegistry } from './machine-registry.js';
import {
  type HistoryInput,
  type ListExecutionsInput,
  type LocalStepFunctionsOptions,
  NAME_RE,
  type StartExecutionInput,
} from './service-types.js';
import { describeRun, pageOf, redriveRefusal } from './service-views.js';
import { decodeToken } from './task-token.js';
import type { Clock } from './types.js';

const idPrng = pooledPrng();

/**
 * The embedded Step Functions service: registers state machines, runs
 * executions with durable journals and answers the API calls handlers make.
 */
export class LocalStepFunctions {
  private readonly machines: MachineRegistry;
  private readonly runs = new Map<string, ExecutionRun>();
  private readonly byArn = new Map<string, ExecutionRun>();
  private readonly drives = new Map<string, Promise<void>>();
  private readonly damage: JournalCorruptError[] = [];
  private readonly store: ExecutionStore;
  private readonly clock: Clock;
  readonly region: string;
  readonly accountId: string;

  constructor(private readonly opts: LocalStepFunctionsOptions) {
    // A level the types would refuse (from JavaScript) is refused by name, with or without a dataDir.
    if (opts.durability !== undefined)
      durabilityOption(opts.durability, 'the local Step Functions option durability');
    // Under an injected clock (tests' virtual time) the journal's group commit syncs inline: see FileExecutionStore.
    this.store = opts.dataDir
      ? new FileExecutionStore(opts.dataDir, {
          inline: opts.clock !== undefined && opts.clock !== systemClock,
          ...(opts.journalDisk ? { disk: opts.journalDisk } : {}),
          ...(opts.durability !== undefined ? { durability: opts.durability } : {}),
        })
      : new MemoryExecutionStore();
    this.clock = opts.clock ?? systemClock;
    this.region = opts.region ?? 'us-east-1';
    this.accountId = opts.accountId ?? '000000000000';
    this.machines = new MachineRegistry(this.accountId, opts.allowUnsupportedResources === true);
  }

  /** Validates and registers a definition (throws DefinitionError). Re-registering replaces it. */
  registerStateMachine(
    arn: string,
    definition: object | string,
    o: { name?: string; type?: 'STANDARD' | 'EXPRESS'; roleArn?: string } = {},
  ): void {
    this.machines.register(arn, definition, o, new Date(this.clock.now()));
  }

  /** The ARN a state machine named `name` gets in this account and region. */
  stateMachineArn(name: string): string {
    return `arn:aws:states:${this.region}:${this.accountId}:stateMachine:${name}`;
  }

  /**
   * Loads executions from disk and resumes the unfinished ones. A torn last
   * journal line is cut off with a warning; an execution whose files are
   * otherwise damaged is not resumed: it is reported (stderr, or the
   * logger's `error`), listed as FAILED with `States.JournalCorrupt` when
   * its metadata is readable, and kept in {@link damagedExecutions}.
   */
  async start(): Promise<void> {
    const loaded = this.store.loadAll();
    for (const warning of loaded.warnings) this.report('warn', `local Step Functions: ${warning}`);
    for (const err of loaded.damaged) this.keepAside(err);
    for (const journal of loaded.journals) {
      if (this.runs.has(journal.meta.id)) continue;
      let def: ReturnType<typeof parseDefinition>;
      try {
        def = parseDefinition(journal.meta.definition, { allowUnsupportedResources: true });
      } catch (err) {
        this.keepAside(
          new JournalCorruptError(
            {
              executionId: journal.meta.id,
              executionName: journal.meta.name,
              executionArn: journal.meta.executionArn,
              file: 'meta.json',
              reason: `its definition does not load: ${err instanceof Error ? err.message : String(err)}`,
            },
            { cause: err },
          ),
        );
        continue;
      }
      const run = new ExecutionRun(journal, def, this.deps());
      if (journal.damage) {
        this.keepAside(journal.damage.error);
        this.runs.set(run.meta.id, run);
        this.byArn.set(run.meta.executionArn, run);
        continue;
      }
      this.launch(run);
    }
  }

  /** Executions found damaged at boot (not resumed), with the file and line of the damage. */
  damagedExecutions(): readonly JournalCorruptError[] {
    return [...this.damage];
  }

  private keepAside(err: JournalCorruptError): void {
    this.damage.push(err);
    this.report('error', `local Step Functions: ${err.name}: ${err.message}`);
  }

  /** Boot findings are for a person: the logger if there is one, else one stderr line. */
  private report(level: 'warn' | 'error', message: string): void {
    const log = this.opts.logger?.[level];
    if (log) log.call(this.opts.logger, message);
    else process.stderr.write(`${message}\n`);
  }

  /**
   * What executions run with. Their journals are group-committed: what they
   * appended is on disk before a Lambda function is invoked on it or a
   * callback message leaves with its token.
   */
  private deps() {
    const { invoker, onCallback } = this.opts;
    const store = this.store;
    return {
      invoker: {
        async invoke(fn: string, payload: unknown, options: { signal: AbortSignal }) {
          await store.durable();
          return invoker.invoke(fn, payload, options);
        },
      },
      clock: this.clock,
      region: this.region,
      accountId: this.accountId,
      onCallback: onCallback
        ? (message: CallbackMessage) =>
            void store.durable().then(
              () => onCallback(message),
              (err: unknown) =>
                this.opts.logger?.error?.('execution journal not synced; callback message not sent', {
                  executionArn: message.executionArn,
                  error: String(err),
                }),
            )
        : undefined,
      logger: this.opts.logger,
      ...(this.opts.retryJitter ? { retryJitter: this.opts.retryJitter } : {}),
    };
  }

  private launch(run: ExecutionRun): void {
    this.runs.set(run.meta.id, run);
    this.byArn.set(run.meta.executionArn, run);
    // The drive ends (waitForExecution answers) once the terminal event is on disk.
    const drive = driveExecution(run)
      .then(() => this.store.durable())
      .catch((err: unknown) => {
        this.opts.logger?.error?.('execution driver crashed', {
          executionArn: run.meta.executionArn,
          error: String(err),
        });
      });
    this.drives.set(run.meta.id, drive);
  }

  private machine(arn: string): Machine {
    return this.machines.get(arn);
  }

  private run(executionArn: string): ExecutionRun {
    const r = this.byArn.get(executionArn);
    if (!r) throw new SfnApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return r;
  }

  /** StartExecution, idempotent on name + input. */
  startExecution(
    input: StartExecutionInput,
  ): StartExecutionOutput & { executionArn: string; startDate: Date } {
    const m = this.machine(input.stateMachineArn);
    const name = input.name ?? ulid(undefined, idPrng);
    if (!NAME_RE.test(name)) throw new SfnApiError('InvalidName', `Invalid Name: '${name}'`);
    const inputText = input.input ?? '{}';
    try {
      JSON.parse(inputText);
    } catch {
      throw new SfnApiError(
        'InvalidExecutionInput',
        `Invalid State Machine Execution Input: '${inputText.slice(0, 200)}'`,
      );
    }
    if (Buffer.byteLength(inputText) > 256 * 1024)
      throw new SfnApiError('InvalidExecutionInput', 'Execution input exceeds 256 KiB');
    const executionArn =
      m.type === 'EXPRESS'
        ? `arn:aws:states:${this.region}:${this.accountId}:express:${m.name}:${name}:${crypto.randomUUID()}`
        : `arn:aws:states:${this.region}:${this.accountId}:execution:${m.name}:${name}`;
    const existing = this.byArn.get(executionArn);
    if (existing) {
      if (existing.meta.input === inputText)
        return { executionArn, startDate: new Date(existing.meta.startDate) };
      throw new SfnApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const startDate = new Date(this.clock.now());
    const journal = this.store.create({
      id: `${ulid(startDate.getTime(), idPrng)}`,
      executionArn,
      stateMachineArn: m.arn,
      name,
      definition: m.definitionText,
      input: inputText,
      startDate: startDate.toISOString(),
      roleArn: m.roleArn,
    });
    this.launch(new ExecutionRun(journal, m.def, this.deps()));
    return { executionArn, startDate };
  }

  /** DescribeExecution. */
  describeExecution(input: { executionArn: string }): DescribeExecutionOutput {
    const run = this.run(input.executionArn);
    this.store.durableSync();
    return describeRun(run);
  }

  /** Resolves with DescribeExecution once the execution has ended. */
  async waitForExecution(executionArn: string): Promise<DescribeExecutionOutput> {
    const run = this.run(executionArn);
    await this.drives.get(run.meta.id);
    return describeRun(run);
  }

  /** GetExecutionHistory with paging and reverse order. */
  getExecutionHistory(
    input: HistoryInput,
  ): Omit<GetExecutionHistoryOutput, 'events'> & { events: HistoryEvent[] } {
    const run = this.run(input.executionArn);
    this.store.durableSync();
    const events = [...run.journal.events];
    if (input.reverseOrder) events.reverse();
    const page = pageOf(events, input.maxResults, input.nextToken);
    const items = input.includeExecutionData === false ? page.items.map(withoutData) : page.items;
    return { events: items, nextToken: page.nextToken };
  }

  /** ListExecutions, newest first, optionally filtered by state machine and status. */
  listExecutions(input: ListExecutionsInput = {}): ListExecutionsOutput {
    if (input.stateMachineArn) this.machineOrKnown(input.stateMachineArn);
    this.store.writePending();
    const items: ExecutionListItem[] = [];
    for (const run of this.runs.values()) {
      if (input.stateMachineArn && run.meta.stateMachineArn !== input.stateMachineArn) continue;
      const d = describeRun(run);
      if (input.statusFilter && d.status !== input.statusFilter) continue;
      items.push({
        executionArn: d.executionArn,
        stateMachineArn: d.stateMachineArn,
        name: d.name,
        status: d.status,
        startDate: d.startDate,
        stopDate: d.stopDate,
      });
    }
    items.sort((a, b) => (b.startDate?.getTime() ?? 0) - (a.startDate?.getTime() ?? 0));
    const page = pageOf(items, input.maxResults, input.nextToken);
    return { executions: page.items, nextToken: page.nextToken };
  }

  private machineOrKnown(arn: string): void {
    if (this.machines.has(arn)) return;
    for (const r of this.runs.values()) if (r.meta.stateMachineArn === arn) return;
    throw new SfnApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${arn}'`);
  }

  /** StopExecution: records ExecutionAborted and cancels everything in flight. */
  stopExecution(input: { executionArn: string; error?: string; cause?: string }): { stopDate: Date } {
    const run = this.run(input.executionArn);
    // A damaged execution already ended (FAILED, States.JournalCorrupt); its journal is not written to.
    if (run.journal.damage) return { stopDate: run.journal.damage.at };
    const details: Record<string, unknown> = {};
    if (input.error !== undefined) details.error = input.error;
    if (input.cause !== undefined) details.cause = input.cause;
    const ev =
      run.terminalEvent() ?? run.finish('ExecutionAborted', details, run.journal.events.length, 'stopped');
    this.store.durableSync();
    return { stopDate: ev.timestamp };
  }

  /**
   * RedriveExecution: a FAILED, TIMED_OUT or ABORTED Standard execution goes
   * on from where it failed, with the same input, ARN and history. The replay
   * reuses every recorded result; the states that failed are run anew, and the
   * ones aborted mid-way run again (a Parallel's or Map's unfinished branches
   * and items included). Idempotent on `clientToken`.
   */
  redriveExecution(input: { executionArn: string; clientToken?: string }): { redriveDate: Date } {
    const run = this.run(input.executionArn);
    const tokenKey = input.clientToken ? `redrive-token/${input.clientToken}` : undefined;
    if (tokenKey && run.journal.hasRecord(tokenKey)) {
      const seen = run.journal.record(tokenKey) as { at: number };
      return { redriveDate: new Date(seen.at) };
    }
    const reason = redriveRefusal(run);
    if (reason) throw new SfnApiError('ExecutionNotRedrivable', reason);
    const previous = this.drives.get(run.meta.id) ?? Promise.resolve();
    const now = this.clock.now();
    const out = run.redrive(now);
    if (tokenKey) run.journal.appendRecord(tokenKey, { at: now });
    // The previous drive has ended (its terminal event is written); whatever of it still unwinds
    // finishes before the new drive replays, so nothing of the old one writes into the new one.
    const drive = previous
      .then(() => driveExecution(run))
      .then(() => this.store.durable())
      .catch((err: unknown) => {
        this.opts.logger?.error?.('execution driver crashed', {
          executionArn: run.meta.executionArn,
          error: String(err),
        });
      });
    this.drives.set(run.meta.id, drive);
    // The answer acknowledges the redrive: on disk first, as SendTaskSuccess's.
    this.store.durableSync();
    return { redriveDate: out.redriveDate };
  }

  private tokenTarget(taskToken: string): { run: ExecutionRun; key: string } {
    const parts = decodeToken(taskToken);
    if (!parts) throw new SfnApiError('InvalidToken', 'Invalid Token');
    const run = this.runs.get(parts.execution);
    if (!run || run.journal.damage || !run.tokenIssued(parts.key, parts.nonce))
      throw new SfnApiError('TaskDoesNotExist', 'Task Does Not Exist');
    return { run, key: parts.key };
  }

  /** SendTaskSuccess: `output` must be JSON text. */
  sendTaskSuccess(input: { taskToken: string; output: string }): Record<string, never> {
    const { run, key } = this.tokenTarget(input.taskToken);
    let output: unknown;
    try {
      output = JSON.parse(input.output);
    } catch {
      throw new SfnApiError('InvalidOutput', 'Invalid Output');
    }
    if (!run.completeToken(key, { kind: 'success', output }))
      throw new SfnApiError('TaskTimedOut', 'Task Timed Out');
    this.store.durableSync();
    return {};
  }

  /** SendTaskFailure. */
  sendTaskFailure(input: { taskToken: string; error?: string; cause?: string }): Record<string, never> {
    const { run, key } = this.tokenTarget(input.taskToken);
    if (!run.completeToken(key, { kind: 'failure', error: input.error, cause: input.cause }))
      throw new SfnApiError('TaskTimedOut', 'Task Timed Out');
    this.store.durableSync();
    return {};
  }

  /** SendTaskHeartbeat. */
  sendTaskHeartbeat(input: { taskToken: string }): Record<string, never> {
    const { run, key } = this.tokenTarget(input.taskToken);
    if (!run.heartbeat(key)) throw new SfnApiError('TaskTimedOut', 'Task Timed Out');
    return {};
  }

  /** CreateStateMachine (API): registers under this account's ARN. */
  createStateMachine(input: { name: string; definition: string; roleArn?: string; type?: string }): {
    stateMachineArn: string;
    creationDate: Date;
  } {
    const m = this.machines.create(this.stateMachineArn(input.name), input, new Date(this.clock.now()));
    return { stateMachineArn: m.arn, creationDate: m.creationDate };
  }

  /** ListStateMachines. */
  listStateMachines(): ListStateMachinesOutput {
    return this.machines.list();
  }

  /** DescribeStateMachine. */
  describeStateMachine(input: { stateMachineArn: string }): DescribeStateMachineOutput {
    return this.machines.describe(input.stateMachineArn);
  }

  /** Stops driving executions (they stay resumable on disk) and waits for in-flight work to settle. */
  async close(): Promise<void> {
    for (const run of this.runs.values()) {
      if (!run.controller.signal.aborted) run.controller.abort(new ExecutionAbortedError('closed'));
    }
    await Promise.allSettled(this.drives.values());
    await this.store.close();
  }

  /** Resolves once everything every execution has appended so far is on disk (the journals' group commit). */
  durable(): Promise<void> {
    return this.store.durable();
  }

  /** Terminal status of an execution, for callers that only need that. */
  static isTerminal(status: string | undefined): boolean {
    return status !== undefined && Object.values(TERMINAL).includes(status as never);
  }
}

/** An event with its input/output payloads removed (`includeExecutionData: false`). */
function withoutData(event: HistoryEvent): HistoryEvent {
  const out: Record<string, unknown> = { ...event };
  for (const [k, v] of Object.entries(event)) {
    if (!k.endsWith('EventDetails') || typeof v !== 'object' || v === null) continue;
    const { input: _i, output: _o, ...rest } = v as Record<string, unknown>;
    out[k] = rest;
  }
  return out as HistoryEvent;
}
