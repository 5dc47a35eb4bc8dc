import type { Workflow } from '../../state-machines/workflow.js';
import type { PayloadStore } from './offload.js';
import type { RunStore } from './run-records.js';

/** Something that pages a person: SNS in AWS, a file locally. */
export interface AlertPublisher {
  publish(alert: { subject: string; message: string; attributes: Record<string, string> }): Promise<void>;
}

/** Structured logging without secrets (Powertools Logger in Lambda). */
export interface Log {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** Emits metrics (Powertools Metrics / EMF in Lambda). */
export interface MetricsSink {
  count(name: string, value: number, dimensions?: Record<string, string>, unit?: 'Count' | 'None'): void;
}

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const t = setTimeout(resolve, ms);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(t);
          reject(signal.reason);
        },
        { once: true },
      );
    }),
};

export const silentLog: Log = { info: () => {}, warn: () => {}, error: () => {} };
export const noMetrics: MetricsSink = { count: () => {} };

/** The application's workflows by name. */
export interface WorkflowRegistry {
  get(name: string): Workflow | undefined;
  names(): string[];
}

export function registryOf(workflows: readonly Workflow[]): WorkflowRegistry {
  const byName = new Map(workflows.map((w) => [w.name, w]));
  return { get: (n) => byName.get(n), names: () => [...byName.keys()] };
}

/** What every core function may use. */
export interface CoreDeps {
  store: RunStore;
  workflows: WorkflowRegistry;
  clock: Clock;
  log: Log;
  metrics: MetricsSink;
  /** The payload bucket, for tool results and step outputs too large to keep inline (`offload.ts`). */
  payloads?: PayloadStore | undefined;
  /** Above this many bytes a result or output is offloaded. @default 32768 */
  offloadThresholdBytes?: number | undefined;
}
