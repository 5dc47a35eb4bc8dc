/**
 * The named stops of a run. Each is a Fail state of the same name in every
 * compiled state machine, and the run's status shows it with the figures.
 */
export const STOP_REASONS = [
  'StepLimitExceeded',
  'BudgetExceeded',
  'TimeLimitExceeded',
  'PolicyViolation',
  'CircuitOpen',
  'LoopDetected',
  'ApprovalRejected',
  'HistoryLimitApproaching',
  'RunFailed',
] as const;
export type StopReason = (typeof STOP_REASONS)[number];
