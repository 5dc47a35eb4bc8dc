/**
 * The embedded Step Functions runtime: a JSONata/JSONPath interpreter with
 * durable, resumable executions and the AWS JSON API on localhost.
 */
export { LocalStepFunctions } from './service.js';
export type { LocalStepFunctionsOptions, StartExecutionInput, HistoryInput, ListExecutionsInput } from './service.js';
export { startSfnApiServer } from './api-server.js';
export type { SfnApiServer, SfnApiServerOptions } from './api-server.js';
export type { LambdaInvoker, LambdaOutcome } from './lambda-invoker.js';
export { MapLambdaInvoker, functionArn, resourceNotFound } from './lambda-invoker.js';
export type { CallbackMessage } from './execution.js';
export type { Clock, Logger } from './types.js';
export { systemClock, ManualClock, VirtualClock } from './clock.js';
export { DefinitionError, StatesError, SfnApiError } from './errors.js';
export type { HistoryEvent } from './history.js';
