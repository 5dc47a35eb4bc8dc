import { createHash, randomUUID } from 'node:crypto';
import { jsonText } from '../history.js';
import { TaskError } from '../retry-catch.js';
import type { StateRun } from '../state-run.js';
import { isObject } from '../types.js';
import type { ResourceNames } from './task.js';

/**
 * Records the SQS/SNS "send" (TaskSubmitted) and hands the message to the
 * host's callback consumer. On replay the message is not delivered again
 * once TaskSubmitted is recorded.
 */
export function deliverCallback(
  s: StateRun,
  attemptKey: string,
  service: 'sqs' | 'sns',
  params: unknown,
  rn: ResourceNames,
): void {
  const { exec, frame } = s;
  const key = `${attemptKey}/submitted`;
  const existing = exec.journal.event(key);
  if (existing) {
    frame.lastEventId = Math.max(frame.lastEventId, existing.id);
    return;
  }
  const body = isObject(params) ? (service === 'sqs' ? params.MessageBody : params.Message) : undefined;
  const bodyText = typeof body === 'string' ? body : JSON.stringify(body ?? null);
  const requestId = randomUUID();
  const output: Record<string, unknown> = { MessageId: randomUUID() };
  if (service === 'sqs') output.MD5OfMessageBody = createHash('md5').update(bodyText).digest('hex');
  output.SdkHttpMetadata = { HttpHeaders: { 'x-amzn-RequestId': requestId }, HttpStatusCode: 200 };
  output.SdkResponseMetadata = { RequestId: requestId };
  exec.emit(frame, key, 'TaskSubmitted', {
    ...rn,
    output: jsonText(output),
    outputDetails: { truncated: false },
  });
  const token = s.taskToken;
  const onCallback = exec.deps.onCallback;
  if (!onCallback || token === undefined) return;
  const message = {
    executionArn: exec.meta.executionArn,
    stateName: s.name,
    transport: service,
    taskToken: token,
    parameters: params,
  };
  queueMicrotask(() => {
    try {
      onCallback(message);
    } catch (err) {
      exec.deps.logger?.warn?.('callback consumer threw', { error: String(err) });
    }
  });
}

/** Waits for SendTaskSuccess/Failure (or the heartbeat / task timeout) and returns the task result. */
export async function waitForTokenResult(
  s: StateRun,
  attemptKey: string,
  opts: { heartbeatSeconds?: number; deadline?: number } & ResourceNames,
): Promise<unknown> {
  const outcome = await s.exec.waitForToken(attemptKey, { signal: s.frame.signal, ...opts });
  const ev = s.exec.journal.event(`${attemptKey}/outcome`);
  if (ev) s.frame.lastEventId = Math.max(s.frame.lastEventId, ev.id);
  if (outcome.kind === 'success') return outcome.output;
  if (outcome.kind === 'timeout') {
    const err = new TaskError(outcome.error, '');
    // Reported as States.Timeout (as AWS records it), yet Retry/Catch on States.HeartbeatTimeout still apply.
    if (outcome.heartbeat) err.aliases.push('States.HeartbeatTimeout');
    throw err;
  }
  throw new TaskError(outcome.error ?? '', outcome.cause);
}
