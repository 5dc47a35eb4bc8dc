import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VirtualClock } from '../../../../local/sfn/clock.js';
import { LocalStepFunctions, type LocalStepFunctionsOptions } from '../../../../local/sfn/index.js';
import { MapLambdaInvoker } from '../../../../local/sfn/lambda-invoker.js';
import type { Clock } from '../../../../local/sfn/types.js';

export type Handler = (event: unknown, signal: AbortSignal) => unknown;

/** A runtime with in-process handlers and a virtual clock (no real sleeping). */
export function makeSfn(
  handlers: Record<string, Handler> = {},
  opts: Partial<LocalStepFunctionsOptions> & { clock?: Clock } = {},
): { sfn: LocalStepFunctions; clock: Clock } {
  const clock = opts.clock ?? new VirtualClock(Date.parse('2026-01-01T00:00:00Z'));
  const sfn = new LocalStepFunctions({ invoker: new MapLambdaInvoker(handlers), clock, ...opts });
  return { sfn, clock };
}

/** A fresh temporary data directory. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'chaperone-sfn-'));
}

/** Lambda ARN for a handler name in the default account/region. */
export const fnArn = (name: string): string => `arn:aws:lambda:us-east-1:000000000000:function:${name}`;

/** Registers `definition`, runs it on `input` and returns DescribeExecution once it ends. */
export async function runToEnd(
  sfn: LocalStepFunctions,
  definition: object,
  input: unknown = {},
  name = 'test',
) {
  const arn = sfn.stateMachineArn(name);
  sfn.registerStateMachine(arn, definition);
  const { executionArn } = sfn.startExecution({ stateMachineArn: arn, input: JSON.stringify(input) });
  const result = await sfn.waitForExecution(executionArn);
  return {
    ...result,
    parsedOutput: result.output === undefined ? undefined : (JSON.parse(result.output) as unknown),
    executionArn,
  };
}
