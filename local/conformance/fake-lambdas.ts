import { randomUUID } from 'node:crypto';
import type { LambdaInvoker, LambdaOutcome } from '../sfn/lambda-invoker.js';
import { resourceNotFound } from '../sfn/lambda-invoker.js';
import type { Clock } from '../sfn/types.js';

const PY_TRACE = (line: string): string[] => [
  `  File "/var/task/handler.py", line 2, in handler\n    ${line}\n`,
];

/**
 * The corpus's fake Lambda functions (README "Fake Lambda behaviours"),
 * keyed by function name. Unknown names fail like AWS with
 * `Lambda.ResourceNotFoundException`.
 */
export class FakeLambdaInvoker implements LambdaInvoker {
  constructor(
    private readonly behaviours: Record<string, string>,
    private readonly clock: Clock,
    private readonly region = 'us-east-1',
    private readonly accountId = '000000000000',
  ) {}

  async invoke(fn: string, payload: unknown, options: { signal: AbortSignal }): Promise<LambdaOutcome> {
    const name = (fn.includes(':function:') ? (fn.split(':function:')[1] ?? '') : fn).split(':')[0] ?? '';
    const behaviour = this.behaviours[name];
    const arn = fn.startsWith('arn:') ? fn : `arn:aws:lambda:${this.region}:${this.accountId}:function:${fn}`;
    switch (behaviour) {
      case 'identity':
        return { ok: true, payload };
      case 'echo':
        return { ok: true, payload: { Return: 'HelloWorld' } };
      case 'raise_exception':
        return {
          ok: false,
          errorType: 'Exception',
          errorMessage: 'Some exception was raised.',
          stackTrace: PY_TRACE('raise Exception("Some exception was raised.")'),
        };
      case 'raise_custom_exception':
        return {
          ok: false,
          errorType: 'CustomException',
          errorMessage: '',
          stackTrace: PY_TRACE('raise CustomException()'),
        };
      case 'return_bytes_str':
        return { ok: true, payload: 'HelloWorld!' };
      case 'large_output_string':
        return { ok: true, payload: 'a'.repeat(263_168) };
      case 'wait_60_seconds':
        await this.clock.sleep(60_000, options.signal);
        return { ok: true, payload };
      default:
        return resourceNotFound(arn, randomUUID());
    }
  }
}
