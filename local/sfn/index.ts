/**
 * The embedded Step Functions runtime: a JSONata/JSONPath interpreter with
 * durable, resumable executions and the AWS JSON API on localhost.
 */

export type { SfnApiServer, SfnApiServerOptions } from './api-server.js';
export { startSfnApiServer } from './api-server.js';
export { ManualClock, systemClock, VirtualClock } from './clock.js';
export { DefinitionError, SfnApiError, StatesError } from './errors.js';
export type { CallbackMessage } from './execution.js';
export type { HistoryEvent } from './history.js';
export type { LambdaInvoker, LambdaOutcome } from './lambda-invoker.js';
export { functionArn, MapLambdaInvoker, resourceNotFound } from './lambda-invoker.js';
export { LocalStepFunctions } from './service.js';
export type {
  HistoryInput,
  ListExecutionsInput,
  LocalStepFunctionsOptions,
  StartExecutionInput,
} from './service-types.js';
export type { Clock, Logger } from './types.js';
