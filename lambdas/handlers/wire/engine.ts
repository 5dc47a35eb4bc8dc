import { createSfnEngine } from '../../adapters/sfn-engine.js';
import { awsClientOptions, type Env, lazily } from '../../config.js';
import type { WorkflowEngine } from '../../core/ports.js';

/** Step Functions; the client is built on the first call and kept for the container's life. */
export function sfnEngine(env: Env): WorkflowEngine {
  const sfn = lazily(() => createSfnEngine(awsClientOptions(env, 'AWS_ENDPOINT_URL_SFN')));
  return {
    startExecution: (arn, name, input) => sfn().startExecution(arn, name, input),
    describeExecution: (arn) => sfn().describeExecution(arn),
    sendTaskSuccess: (token, output) => sfn().sendTaskSuccess(token, output),
    sendTaskFailure: (token, error, cause) => sfn().sendTaskFailure(token, error, cause),
    historyFigures: (arn) => sfn().historyFigures(arn),
    redriveExecution: (arn) => sfn().redriveExecution(arn),
  };
}
