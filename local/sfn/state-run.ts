import { randomUUID } from 'node:crypto';
import type { ExecutionRun, Frame } from './execution.js';
import type { HistoryEvent } from './history.js';
import { evaluateExpression, evaluateTemplate, isJsonataString, type JsonataEnv } from './jsonata-eval.js';
import { type JsonPathModule, loadJsonPath } from './jsonpath-bridge.js';
import type { QueryLanguage, StateDef } from './types.js';

const RETRIABLE = new Set(['Task', 'Map', 'Parallel']);

/** Everything a state handler needs about the state being run. */
export class StateRun {
  private randomCount = 0;
  /** Set while a task attempt holds a token, for `$$.Task.Token`. */
  taskToken: string | undefined;
  retryCount = 0;

  constructor(
    readonly exec: ExecutionRun,
    readonly frame: Frame,
    readonly name: string,
    readonly state: StateDef,
    readonly key: string,
    readonly ql: QueryLanguage,
    readonly input: unknown,
    readonly entered: HistoryEvent,
  ) {}

  /** Appends an event for this state under `key/<sub>`. */
  emit(sub: string, type: string, details?: Record<string, unknown>): HistoryEvent {
    return this.exec.emit(this.frame, `${this.key}/${sub}`, type, details);
  }

  /** The context object (`$$` / `$states.context`). */
  context(): Record<string, unknown> {
    const meta = this.exec.meta;
    const smName = meta.stateMachineArn.split(':').pop() ?? '';
    const ctx: Record<string, unknown> = {
      Execution: {
        Id: meta.executionArn,
        Input: JSON.parse(meta.input),
        Name: meta.name,
        RoleArn: meta.roleArn,
        StartTime: meta.startDate,
        ...(meta.executionArn.includes(':express:') ? {} : { RedriveCount: this.exec.redriveCount }),
      },
      State: {
        EnteredTime: this.entered.timestamp.toISOString(),
        Name: this.name,
        ...(RETRIABLE.has(this.state.Type) ? { RetryCount: this.retryCount } : {}),
      },
      StateMachine: { Id: meta.stateMachineArn, Name: smName },
    };
    if (this.taskToken !== undefined) ctx.Task = { Token: this.taskToken };
    if (this.frame.mapItem) ctx.Map = { Item: { ...this.frame.mapItem } };
    return ctx;
  }

  /** Variables visible to this state. */
  variables(): Record<string, unknown> {
    return this.frame.scope.flatten();
  }

  /**
   * The JSONata environment with `$states.input`, `.context` and any extra
   * `$states` members. The context and the variables are built when an
   * expression first reads them (most read neither), once per environment.
   */
  env(extra: Record<string, unknown> = {}, input: unknown = this.input): JsonataEnv {
    const run = this;
    let context: Record<string, unknown> | undefined;
    let variables: Record<string, unknown> | undefined;
    return {
      states: {
        input,
        get context() {
          context ??= run.context();
          return context;
        },
        ...extra,
      },
      get variables() {
        variables ??= run.variables();
        return variables;
      },
      random: () => this.exec.recorded(`${this.key}/rand/${this.randomCount++}`, Math.random),
      uuid: () => this.exec.recorded(`${this.key}/rand/${this.randomCount++}`, randomUUID),
      now: this.entered.timestamp.getTime(),
    };
  }

  /** Evaluates a JSONata field that may be a literal or a `{% %}` template. */
  evalField(
    value: unknown,
    field: string,
    extra: Record<string, unknown> = {},
    input?: unknown,
  ): Promise<unknown> {
    return evaluateTemplate(value, this.env(extra, input === undefined ? this.input : input), field);
  }

  /** Evaluates `{% %}` if it is one, otherwise returns the literal. */
  async evalScalar(value: unknown, field: string, extra: Record<string, unknown> = {}): Promise<unknown> {
    if (isJsonataString(value)) return evaluateExpression(value, this.env(extra), field);
    return value;
  }

  /** The JSONPath module (loaded lazily). */
  jsonPath(): Promise<JsonPathModule> {
    return loadJsonPath();
  }
}
