import { awsClientOptions, type Env } from '../../config.js';
import type { WorkflowEngine } from '../../core/ports.js';
import { onFirstUse } from './lazy.js';

/**
 * Step Functions; the adapter and its client are loaded and built on the
 * first call and kept for the container's life.
 */
export function sfnEngine(env: Env): WorkflowEngine {
  const options = awsClientOptions(env, 'AWS_ENDPOINT_URL_SFN');
  const sfn = onFirstUse(async () => (await import('../../adapters/sfn-engine.js')).createSfnEngine(options));
  return {
    startExecution: async (arn, name, input) => (await sfn()).startExecution(arn, name, input),
    describeExecution: async (arn) => (await sfn()).describeExecution(arn),
    sendTaskSuccess: async (token, output) => (await sfn()).sendTaskSuccess(token, output),
    sendTaskFailure: async (token, error, cause) => (await sfn()).sendTaskFailure(token, error, cause),
    historyFigures: async (arn) => (await sfn()).historyFigures(arn),
    redriveExecution: async (arn) => (await sfn()).redriveExecution(arn),
  };
}
