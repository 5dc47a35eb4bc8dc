/** The ARN of the Standard execution `name` of `stateMachineArn` (known before it starts). */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** Step Functions as core sees it (the SFN adapter implements it). */
export interface WorkflowEngine {
  /** Start (idempotent on `name`); returns the execution ARN. */
  startExecution(stateMachineArn: string, name: string, input: string): Promise<string>;
  describeExecution(
    executionArn: string,
  ): Promise<{ status: string; error?: string; cause?: string } | undefined>;
  /**
   * `RedriveExecution`: resume a failed execution at the failed state.
   * Refused (`{ refused }`, AWS's reason) when it is running or succeeded.
   */
  redriveExecution(executionArn: string): Promise<{ redriveDate: string } | { refused: string }>;
  sendTaskSuccess(taskToken: string, output: string): Promise<void>;
  sendTaskFailure(taskToken: string, error: string, cause: string): Promise<void>;
  /**
   * An execution's history so far, counted (GetExecutionHistory, paged):
   * events, and state transitions as Step Functions bills them (one per state
   * entered, plus one per retry of a Task). Undefined when the execution is
   * unknown.
   */
  historyFigures(executionArn: string): Promise<HistoryFigures | undefined>;
}

/** What an execution's history holds so far. */
export interface HistoryFigures {
  events: number;
  transitions: number;
}

/** Outgoing email (SES in AWS, the outbox locally). */
export interface Mailer {
  send(mail: { to: string[]; subject: string; text: string; html: string }): Promise<void>;
}
