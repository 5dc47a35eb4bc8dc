import { classifyResource } from '../definition.js';
import { EvaluationError } from '../errors.js';
import { jsonText } from '../history.js';
import { effectiveInput, finishWithResult, numericField, statePayload } from '../io.js';
import { functionArn } from '../lambda-invoker.js';
import { TaskError } from '../retry-catch.js';
import type { HandlerResult } from '../run-state.js';
import { MAX_PAYLOAD_BYTES } from '../run-state.js';
import type { StateRun } from '../state-run.js';
import { isObject } from '../types.js';
import { type InvokeResult, invokeResponse, invokeWithDeadline } from './lambda-call.js';
import { deliverCallback, waitForTokenResult } from './task-callback.js';

/** How a Task's resource appears in events (`resource` / `resourceType`). */
export interface ResourceNames {
  resource: string;
  resourceType: string;
}

function names(resource: string): ResourceNames {
  const m = /^arn:aws[a-z-]*:states:::([^:]+):(.+)$/.exec(resource);
  if (m) return { resourceType: m[1] as string, resource: m[2] as string };
  return { resourceType: 'lambda', resource };
}

async function positiveInt(s: StateRun, field: string, eff: unknown): Promise<number | undefined> {
  const v = await numericField(s, field, eff);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
    throw new EvaluationError(
      'States.QueryEvaluationError',
      `The ${field} field must be a positive integer but was: ${JSON.stringify(v)}`,
      field,
    );
  }
  return v;
}

function resultFromRecorded(s: StateRun, key: string): InvokeResult | undefined {
  const ev = s.exec.journal.event(key) as unknown as
    | (Record<string, Record<string, unknown> | undefined> & { type: string })
    | undefined;
  if (!ev) return undefined;
  if (ev.type.endsWith('Succeeded') || ev.type === 'TaskSubmitted') {
    const d =
      ev.taskSucceededEventDetails ??
      ev.lambdaFunctionSucceededEventDetails ??
      ev.taskSubmittedEventDetails ??
      {};
    return { kind: 'ok', payload: typeof d.output === 'string' ? JSON.parse(d.output) : null };
  }
  if (ev.type.endsWith('TimedOut')) return { kind: 'timeout' };
  const d = ev.taskFailedEventDetails ?? ev.lambdaFunctionFailedEventDetails ?? {};
  return { kind: 'error', error: String(d.error ?? ''), cause: String(d.cause ?? '') };
}

function limitExceeded(payload: unknown): boolean {
  return Buffer.byteLength(jsonText(payload)) > MAX_PAYLOAD_BYTES;
}

/** Task: Lambda (`lambda:invoke`, plain function ARN, `.waitForTaskToken`) and SQS/SNS callback transports. */
export async function runTask(s: StateRun, attempt: number): Promise<HandlerResult> {
  const resourceArn = String(s.state.Resource);
  const kind = classifyResource(resourceArn);
  const attemptKey = `${s.key}#${attempt}`;
  const rn = names(resourceArn);
  const eff = await effectiveInput(s);
  const waitsForToken = resourceArn.endsWith('.waitForTaskToken');
  if (waitsForToken) s.taskToken = s.exec.taskToken(attemptKey, rn.resource, rn.resourceType);
  const heartbeatSeconds = await positiveInt(s, 'HeartbeatSeconds', eff);
  const timeoutSeconds = await positiveInt(s, 'TimeoutSeconds', eff);
  const params = await statePayload(s, eff);
  if (kind.kind === 'unsupported')
    throw new TaskError(
      'States.Runtime',
      `The resource '${resourceArn}' is not supported by the local runtime.`,
    );
  const { exec, frame } = s;
  const region = exec.deps.region;
  const timing: Record<string, unknown> = {};
  if (timeoutSeconds !== undefined) timing.timeoutInSeconds = timeoutSeconds;
  if (heartbeatSeconds !== undefined) timing.heartbeatInSeconds = heartbeatSeconds;

  if (kind.kind === 'lambda-arn') {
    exec.emit(frame, `${attemptKey}/scheduled`, 'LambdaFunctionScheduled', {
      input: jsonText(params),
      inputDetails: { truncated: false },
      resource: resourceArn,
      ...timing,
    });
    const started = exec.emit(frame, `${attemptKey}/started`, 'LambdaFunctionStarted');
    const deadline =
      timeoutSeconds !== undefined ? started.timestamp.getTime() + timeoutSeconds * 1000 : undefined;
    let r = resultFromRecorded(s, `${attemptKey}/outcome`);
    if (!r) {
      r = await invokeWithDeadline(exec, resourceArn, params, deadline, frame.signal);
      if (r.kind === 'ok' && limitExceeded(r.payload)) r = dataLimit(resourceArn);
      if (r.kind === 'ok')
        exec.emit(frame, `${attemptKey}/outcome`, 'LambdaFunctionSucceeded', {
          output: jsonText(r.payload),
          outputDetails: { truncated: false },
        });
      else if (r.kind === 'error')
        exec.emit(frame, `${attemptKey}/outcome`, 'LambdaFunctionFailed', { error: r.error, cause: r.cause });
      else exec.emit(frame, `${attemptKey}/outcome`, 'LambdaFunctionTimedOut', { error: 'States.Timeout' });
    } else frame.lastEventId = exec.journal.event(`${attemptKey}/outcome`)?.id ?? frame.lastEventId;
    return finishWithResult(s, unwrap(r), { resultSelector: true });
  }

  exec.emit(frame, `${attemptKey}/scheduled`, 'TaskScheduled', {
    resource: rn.resource,
    resourceType: rn.resourceType,
    region,
    parameters: jsonText(params),
    ...timing,
  });
  const started = exec.emit(frame, `${attemptKey}/started`, 'TaskStarted', { ...rn });
  const deadline =
    timeoutSeconds !== undefined ? started.timestamp.getTime() + timeoutSeconds * 1000 : undefined;

  if (kind.kind === 'lambda-invoke') {
    if (!isObject(params) || typeof params.FunctionName !== 'string') {
      throw new TaskError(
        'States.Runtime',
        `The Parameters/Arguments of a ${resourceArn} task must include FunctionName.`,
      );
    }
    const fn = functionArn(params.FunctionName, region, exec.deps.accountId);
    const invokeKey = waitsForToken ? `${attemptKey}/submitted` : `${attemptKey}/outcome`;
    let r =
      resultFromRecorded(s, invokeKey) ??
      (waitsForToken ? resultFromRecorded(s, `${attemptKey}/outcome`) : undefined);
    if (!r) {
      r = await invokeWithDeadline(exec, fn, lambdaPayload(params.Payload), deadline, frame.signal);
      if (r.kind === 'ok' && limitExceeded(r.payload)) r = dataLimit(rn.resourceType);
      const okType = waitsForToken ? 'TaskSubmitted' : 'TaskSucceeded';
      const key = r.kind === 'ok' ? invokeKey : `${attemptKey}/outcome`;
      if (r.kind === 'ok')
        exec.emit(frame, key, okType, {
          ...rn,
          output: jsonText(invokeResponse(r.payload, params.LogType === 'Tail')),
          outputDetails: { truncated: false },
        });
      else if (r.kind === 'error')
        exec.emit(frame, key, 'TaskFailed', { ...rn, error: r.error, cause: r.cause });
      else exec.emit(frame, key, 'TaskTimedOut', { ...rn, error: 'States.Timeout' });
      if (r.kind === 'ok') r = { kind: 'ok', payload: invokeResponse(r.payload, params.LogType === 'Tail') };
    }
    if (!waitsForToken) return finishWithResult(s, unwrap(r), { resultSelector: true });
    if (r.kind !== 'ok') unwrap(r);
    const result = await waitForTokenResult(s, attemptKey, { heartbeatSeconds, deadline, ...rn });
    return finishWithResult(s, result, { resultSelector: true });
  }

  // SQS / SNS used as the transport of a task token.
  deliverCallback(s, attemptKey, kind.service, params, rn);
  const result = await waitForTokenResult(s, attemptKey, { heartbeatSeconds, deadline, ...rn });
  return finishWithResult(s, result, { resultSelector: true });
}

function dataLimit(taskName: string): InvokeResult {
  return {
    kind: 'error',
    error: 'States.DataLimitExceeded',
    cause: `The state/task '${taskName}' returned a result with a size exceeding the maximum number of bytes service limit.`,
  };
}

/** A string Payload is JSON text the function receives parsed (AWS sends the bytes as is). */
function lambdaPayload(payload: unknown): unknown {
  if (payload === undefined || payload === null) return {};
  if (typeof payload !== 'string') return payload;
  try {
    return JSON.parse(payload);
  } catch {
    return payload;
  }
}

function unwrap(r: InvokeResult): unknown {
  if (r.kind === 'ok') return r.payload;
  if (r.kind === 'timeout') throw new TaskError('States.Timeout', '');
  throw new TaskError(r.error, r.cause || undefined);
}
