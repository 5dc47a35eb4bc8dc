import type { HistoryEvent as SdkHistoryEvent } from '@aws-sdk/client-sfn';

/** One history event, shaped like `GetExecutionHistory` output. */
export type HistoryEvent = Omit<SdkHistoryEvent, 'type' | 'id' | 'previousEventId' | 'timestamp'> & {
  id: number;
  previousEventId: number;
  timestamp: Date;
  type: string;
};

/** A line of an execution's journal: a visible history event or an internal record (random values, wait deadlines, tokens). */
export type JournalLine =
  | {
      kind: 'event';
      key: string;
      hidden?: boolean;
      event: Omit<HistoryEvent, 'timestamp'> & { timestamp: string };
    }
  | { kind: 'record'; key: string; value: unknown };

/** The `*EventDetails` property name AWS uses for an event type. */
export function detailsKey(type: string): string {
  if (type.endsWith('StateEntered')) return 'stateEnteredEventDetails';
  if (type.endsWith('StateExited')) return 'stateExitedEventDetails';
  return `${type.charAt(0).toLowerCase()}${type.slice(1)}EventDetails`;
}

/** Serialises a value the way Step Functions puts payloads in history events (JSON text). */
export function jsonText(value: unknown): string {
  return JSON.stringify(value === undefined ? null : value);
}

/** Rehydrates a journal event (ISO timestamp) into a HistoryEvent. */
export function toHistoryEvent(line: Extract<JournalLine, { kind: 'event' }>): HistoryEvent {
  return { ...line.event, timestamp: new Date(line.event.timestamp) } as HistoryEvent;
}
