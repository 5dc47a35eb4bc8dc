import { describe, expect, it } from 'vitest';
import { causeSummary } from '../../../lambdas/core/error-cause.js';

describe('what a run keeps of a failure cause', () => {
  it('keeps the name and message of a Lambda function error and drops its stack and server paths', () => {
    const cause = JSON.stringify({
      errorType: 'CorruptRecordError',
      errorMessage: 'the recorded action {} is not one of final, tools, approval, stop',
      trace: ['CorruptRecordError: …', '    at parseAction (/var/task/index.mjs:12:3)'],
      stackTrace: ['    at runAgentStep (/var/task/index.mjs:40:9)'],
    });

    const summary = causeSummary(cause);

    expect(summary).toBe(
      'CorruptRecordError: the recorded action {} is not one of final, tools, approval, stop',
    );
    expect(summary).not.toContain('/var/task');
  });

  it('keeps a plain cause without its stack lines', () => {
    expect(causeSummary('States.Timeout: task timed out\n    at Object.<anonymous> (/home/x.js:1:1)')).toBe(
      'States.Timeout: task timed out',
    );
    expect(causeSummary(undefined)).toBe('');
  });
});
