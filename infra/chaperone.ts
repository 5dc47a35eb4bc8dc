import { CfnOutput, Duration, Stack, Token } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import {
  servicePricesFor,
  type Tool,
  toolsOf,
  type Workflow,
  worstCaseSeconds,
} from '../state-machines/index.js';
import { acknowledge } from './acknowledge.js';
import { AgentFunction } from './constructs/agent-function.js';
import { AlertTopic } from './constructs/alert-topic.js';
import { ApprovalMail } from './constructs/approval-mail.js';
import { ApprovalsTable } from './constructs/approvals-table.js';
import { BedrockAccess } from './constructs/bedrock-access.js';
import { BreakersTable } from './constructs/breakers-table.js';
import { ChaperoneApi } from './constructs/chaperone-api.js';
import { type HandlerKind, writeHandlerEntries } from './constructs/handler-entries.js';
import { ChaperoneMemory } from './constructs/memory.js';
import { ModelApiKey } from './constructs/model-api-key.js';
import { Monitoring } from './constructs/monitoring.js';
import { PayloadBucket } from './constructs/payload-bucket.js';
import { PromptGuardrail } from './constructs/prompt-guardrail.js';
import { RunsTable } from './constructs/runs-table.js';
import { toolAccessFindings } from './constructs/tool-access.js';
import { WorkflowStateMachine } from './constructs/workflow-state-machine.js';

/** Props of {@link Chaperone}. */
export interface ChaperoneProps {
  /** The workflows to deploy: one Standard state machine each. */
  readonly workflows: readonly Workflow[];
  /**
   * Absolute path of the module that exports those workflows
   * (`export const workflows = [...]`). Every function is bundled with this
   * module and Chaperone's handlers, and nothing else of the application's.
   */
  readonly workflowsModule: string;
  /**
   * The project the functions are bundled from (esbuild's working directory),
   * and where the generated entry files go (`node_modules/.cache/chaperone`).
   * @default process.cwd()
   */
  readonly projectRoot?: string;
  /**
   * Accepted for compatibility and ignored: a bundle carries everything it
   * imports, so nothing is installed from a lock file (see `AgentFunction`).
   * @default - none
   */
  readonly depsLockFilePath?: string;
  /**
   * Extra package.json `exports` conditions the bundles resolve with (this
   * repository bundles `chaperone` from its sources with `chaperone-source`).
   * @default - none: the published build
   */
  readonly bundlingConditions?: readonly string[];
  /** The address approval emails come from (an SES identity is created for it). @default 'approvals@example.com' */
  readonly approvalsFrom?: string;
  /** Email addresses subscribed to the alert topic. @default - none */
  readonly alertEmails?: readonly string[];
  /** `ANTHROPIC_BASE_URL` of the agent step (a proxy or gateway). @default - the Anthropic API */
  readonly anthropicBaseUrl?: string;
  /**
   * The Region whose AWS prices the runs' cost figures use (Step Functions,
   * Lambda, DynamoDB, S3: `SERVICE_PRICE_TABLE`). A Region the table lacks
   * fails synth, naming it.
   * @default - the stack's Region; for an environment-agnostic stack, the Region each function runs in
   */
  readonly pricingRegion?: string;
  /** Tool results and step outputs above this many bytes go to the payload bucket as references. @default 32768 */
  readonly offloadThresholdBytes?: number;
  /**
   * An OTLP/HTTP traces endpoint the finish function sends each closed run's
   * trail to as OpenTelemetry spans (GenAI semantic conventions), e.g.
   * `http://localhost:4318/v1/traces` with the ADOT collector layer on the
   * finish function, which forwards them to X-Ray. @default - no export
   */
  readonly otlpTracesEndpoint?: string;
}

/** The model client's timeout per attempt and its retries (`lambdas/config.ts` reads them from the environment). */
const MODEL_TIMEOUT_SECONDS = 60;
const MODEL_MAX_RETRIES = 2;

/**
 * Supervised agents in your own stack: the tables, six functions each with
 * only the access its handler needs (bundled with your workflows module), one
 * state machine per workflow, the API, approval email, alerts, a dashboard
 * and alarms. Secure and observable by default; environment-agnostic: it
 * synthesises offline and deploys to whatever account the CLI targets.
 *
 * ```ts
 * import { Chaperone } from 'chaperone/cdk';
 * import { workflows } from './workflows.js';
 * new Chaperone(stack, 'Agents', {
 *   workflows,
 *   workflowsModule: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
 * });
 * ```
 */
export class Chaperone extends Construct {
  public readonly runs: RunsTable;
  public readonly approvals: ApprovalsTable;
  public readonly breakers: BreakersTable;
  public readonly alerts: AlertTopic;
  public readonly approvalMail: ApprovalMail;
  public readonly modelApiKey: ModelApiKey;
  /** Where large tool results and step outputs go, referenced from the trail (`PAYLOAD_BUCKET`). */
  public readonly payloads: PayloadBucket;
  /** `bedrock:InvokeModel` on exactly the models and profiles of the Bedrock agents (none without them). */
  public readonly bedrockAccess: BedrockAccess;
  /** Knowledge indexes and episodic memory, for the workflows that use them. */
  public readonly memory: ChaperoneMemory;
  public readonly functions: {
    readonly api: AgentFunction;
    readonly agentStep: AgentFunction;
    readonly codeStep: AgentFunction;
    readonly finish: AgentFunction;
    readonly approvalRequest: AgentFunction;
  };
  /**
   * The tool step of each workflow (by workflow name): the bookkeeping of a
   * tool call — claim, breaker, approval check, result, trail — with access to
   * Chaperone's tables and permission to invoke only its own workflow's tools.
   */
  public readonly toolSteps: ReadonlyMap<string, AgentFunction>;
  /**
   * The function of each tool (by tool name): the tool's own code, with a role
   * that holds nothing but its log group until you grant it what the tool
   * needs ({@link toolRole}). It cannot reach Chaperone's tables or send task
   * callbacks.
   */
  public readonly tools: ReadonlyMap<string, AgentFunction>;
  /** State machines by workflow name. */
  public readonly workflows: ReadonlyMap<string, WorkflowStateMachine>;
  public readonly api: ChaperoneApi;
  public readonly monitoring: Monitoring;

  /** The entry file each function runs (and the local runtime loads). */
  public readonly entries: Readonly<Record<HandlerKind, string>>;

  constructor(scope: Construct, id: string, props: ChaperoneProps) {
    super(scope, id);
    if (props.workflows.length === 0)
      throw new Error(
        `${this.node.path}: workflows is empty; pass the workflows ${props.workflowsModule} exports`,
      );
    const projectRoot = props.projectRoot ?? process.cwd();
    this.entries = writeHandlerEntries(props.workflowsModule, projectRoot);
    const bundling = {
      projectRoot,
      ...(props.depsLockFilePath ? { depsLockFilePath: props.depsLockFilePath } : {}),
      ...(props.bundlingConditions ? { bundlingConditions: props.bundlingConditions } : {}),
    };

    this.runs = new RunsTable(this, 'Runs');
    this.approvals = new ApprovalsTable(this, 'Approvals');
    this.breakers = new BreakersTable(this, 'Breakers');
    this.alerts = new AlertTopic(this, 'Alerts', { emails: props.alertEmails });
    this.approvalMail = new ApprovalMail(this, 'ApprovalMail', { fromAddress: props.approvalsFrom });
    this.modelApiKey = new ModelApiKey(this, 'ModelApiKey');

    this.payloads = new PayloadBucket(this, 'Payloads');
    const stackRegion = Stack.of(this).region;
    const pricingRegion = props.pricingRegion ?? (Token.isUnresolved(stackRegion) ? undefined : stackRegion);
    // A Region without prices would make every cost figure a guess: refuse it here, by name.
    if (pricingRegion !== undefined) servicePricesFor(pricingRegion);

    const runsEnv = {
      RUNS_TABLE: this.runs.tableName,
      PAYLOAD_BUCKET: this.payloads.bucketName,
      ...(props.offloadThresholdBytes !== undefined
        ? { CHAPERONE_OFFLOAD_THRESHOLD_BYTES: String(props.offloadThresholdBytes) }
        : {}),
      ...(pricingRegion ? { CHAPERONE_PRICING_REGION: pricingRegion } : {}),
    };
    const agentStep = new AgentFunction(this, 'AgentStep', {
      handlerPath: this.entries['agent-step'],
      ...bundling,
      description: 'One model call of an agent: budget, guardrails, tool-call checks, next action',
      // One owner per retry: the Lambda outlives every attempt the model client makes.
      timeout: Duration.seconds(MODEL_TIMEOUT_SECONDS * (MODEL_MAX_RETRIES + 1) + 45),
      memorySize: 1024,
      environment: {
        ...runsEnv,
        CHAPERONE_MODEL_TIMEOUT_MS: String(MODEL_TIMEOUT_SECONDS * 1000),
        CHAPERONE_MODEL_MAX_RETRIES: String(MODEL_MAX_RETRIES),
        APPROVALS_TABLE: this.approvals.tableName,
        BREAKERS_TABLE: this.breakers.tableName,
        ALERT_TOPIC_ARN: this.alerts.topic.topicArn,
        ANTHROPIC_SECRET_ARN: this.modelApiKey.secret.secretArn,
        ...(props.anthropicBaseUrl ? { ANTHROPIC_BASE_URL: props.anthropicBaseUrl } : {}),
      },
    });
    const tools = new Map<string, AgentFunction>();
    for (const tool of toolsOf(props.workflows).values()) {
      tools.set(
        tool.name,
        new AgentFunction(this, `Tool-${tool.name}`, {
          handlerPath: this.entries['tool-runner'],
          ...bundling,
          description: `Tool ${tool.name} (${tool.access}): its own code, its own role`,
          // The attempt's own hard timeout is enforced inside; the function outlives it a little.
          timeout: Duration.seconds(Math.min(900, Math.ceil(tool.timeoutSeconds) + 10)),
          memorySize: 512,
          environment: { CHAPERONE_TOOL: tool.name },
        }),
      );
    }
    this.tools = tools;
    // Access classes become IAM: a read tool whose role can write fails synth, naming the statement.
    this.node.addValidation({
      validate: () =>
        toolAccessFindings(
          [...tools].map(([name, fn]) => ({ tool: toolsOf(props.workflows).get(name) as Tool, fn })),
          this.writeAcknowledgements,
        ),
    });
    const toolSteps = new Map<string, AgentFunction>();
    for (const workflow of props.workflows) {
      const own = [...toolsOf([workflow]).keys()];
      const toolStep = new AgentFunction(this, `ToolStep-${workflow.name}`, {
        handlerPath: this.entries['tool-step'],
        ...bundling,
        description: `Tool calls of ${workflow.name}: claim, timeout, retries, fallback, breaker, result`,
        timeout: Duration.seconds(toolStepTimeoutSeconds([workflow])),
        memorySize: 1024,
        environment: {
          ...runsEnv,
          BREAKERS_TABLE: this.breakers.tableName,
          ALERT_TOPIC_ARN: this.alerts.topic.topicArn,
          // Read to check a gated call's approval before it runs; written to mark a bypassed
          // gate and to ask a human about a call whose outcome is unknown.
          APPROVALS_TABLE: this.approvals.tableName,
          TOOL_FUNCTIONS: Stack.of(this).toJsonString(
            Object.fromEntries(own.map((name) => [name, tools.get(name)?.functionArn])),
          ),
        },
      });
      this.runs.grantRunWrite(toolStep);
      this.approvals.grantCheck(toolStep);
      this.breakers.grantTrip(toolStep);
      this.alerts.grantAlert(toolStep);
      for (const name of own) {
        const fn = tools.get(name) as AgentFunction;
        fn.grantInvoke(toolStep);
        const logicalId = Stack.of(this).getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
        acknowledge(
          toolStep.role ?? toolStep,
          `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
          `lambda:InvokeFunction on tool ${name}'s function, its versions and aliases (its ARN with :*), as grantInvoke scopes it; only this workflow's tools.`,
        );
      }
      toolSteps.set(workflow.name, toolStep);
    }
    this.toolSteps = toolSteps;
    const codeStep = new AgentFunction(this, 'CodeStep', {
      handlerPath: this.entries['code-step'],
      ...bundling,
      description: 'A code or route step of a workflow',
      timeout: Duration.minutes(1),
      environment: runsEnv,
    });
    const finish = new AgentFunction(this, 'Finish', {
      handlerPath: this.entries.finish,
      ...bundling,
      description: 'Close a run, emit its metrics, write episodic memory',
      environment: {
        ...runsEnv,
        ...(props.otlpTracesEndpoint ? { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: props.otlpTracesEndpoint } : {}),
      },
    });

    this.runs.grantRunWrite(agentStep);
    this.approvals.grantPrepare(agentStep);
    this.breakers.grantObserve(agentStep);
    this.alerts.grantAlert(agentStep);
    this.modelApiKey.grantUse(agentStep);
    this.bedrockAccess = new BedrockAccess(this, 'BedrockAccess', { workflows: props.workflows });
    this.bedrockAccess.grantInvoke(agentStep);
    new PromptGuardrail(this, 'PromptGuardrail', { workflows: props.workflows }).grantApply(agentStep);
    this.runs.grantRunWrite(codeStep);
    this.runs.grantRunWrite(finish);
    // Tool results and step outputs are written where they are produced and read where they
    // are used (the conversation, a later step's needs, the run's answer).
    for (const fn of [agentStep, codeStep, ...toolSteps.values()]) {
      this.payloads.grantWritePayloads(fn);
      this.payloads.grantReadPayloads(fn);
    }
    this.payloads.grantReadPayloads(finish);

    // The approval function needs the API's URL, and the API's routes need the api function,
    // whose policy names the state machines, which invoke the approval function: its URL is
    // built from the API's id and stage name (`baseUrl`), not the stage resource, or the
    // template would have a dependency cycle.
    const approvalRequest = new AgentFunction(this, 'ApprovalRequest', {
      handlerPath: this.entries['approval-request'],
      ...bundling,
      description: 'Approval gate: store the task token, email signed links',
      environment: {
        ...runsEnv,
        APPROVALS_TABLE: this.approvals.tableName,
        APPROVAL_SECRET_ARN: this.approvalMail.signingSecret.secretArn,
        SES_FROM_ADDRESS: this.approvalMail.fromAddress,
      },
    });
    // Writes too: an approval step's gate appends to the trail, and an expired or rejected
    // gate records the rejected calls' results for the model (lambdas/core/approvals.ts).
    this.runs.grantRunWrite(approvalRequest);
    this.approvals.grantReview(approvalRequest);
    this.approvalMail.grantSend(approvalRequest);
    this.approvalMail.grantSign(approvalRequest);

    const machines = new Map<string, WorkflowStateMachine>();
    for (const workflow of props.workflows) {
      machines.set(
        workflow.name,
        new WorkflowStateMachine(this, `Workflow-${workflow.name}`, {
          workflow,
          functions: {
            agentStep,
            toolStep: toolSteps.get(workflow.name) as AgentFunction,
            codeStep,
            finish,
            approvalRequest,
          },
        }),
      );
    }
    this.workflows = machines;
    // The finish task counts each run's state transitions from its execution's history.
    for (const machine of machines.values()) machine.grantReadHistory(finish);

    const stateMachineArns = Object.fromEntries(
      [...machines].map(([name, m]) => [name, m.stateMachine.stateMachineArn]),
    );
    const api = new AgentFunction(this, 'ApiHandler', {
      handlerPath: this.entries.api,
      ...bundling,
      description: 'HTTP API: start and read runs, show and decide approvals',
      environment: {
        ...runsEnv,
        APPROVALS_TABLE: this.approvals.tableName,
        STATE_MACHINES: Stack.of(this).toJsonString(stateMachineArns),
        ALERT_TOPIC_ARN: this.alerts.topic.topicArn,
        APPROVAL_SECRET_ARN: this.approvalMail.signingSecret.secretArn,
        // Read at cold start by the shared approval dependencies (lambdas/handlers/api.ts builds
        // a mailer); the api function sends no email and gets no SES permission.
        SES_FROM_ADDRESS: this.approvalMail.fromAddress,
      },
    });
    this.runs.grantRunWrite(api);
    this.approvals.grantReview(api);
    for (const machine of machines.values()) machine.grantRun(api);
    this.approvalMail.grantSign(api);
    this.alerts.grantAlert(api);
    // Task callbacks on this construct's own state machines only: the api decides approvals;
    // the approval task delivers a decision whose earlier token died with a crashed attempt.
    for (const machine of machines.values()) {
      machine.grantTaskResponse(api);
      machine.grantTaskResponse(approvalRequest);
    }

    this.memory = new ChaperoneMemory(this, 'Memory', { workflows: props.workflows, agentStep, finish, api });
    this.api = new ChaperoneApi(this, 'Api', { handler: api, memoryRoutes: this.memory.table !== undefined });
    approvalRequest.addEnvironment('APPROVAL_BASE_URL', this.api.baseUrl);

    this.functions = { api, agentStep, codeStep, finish, approvalRequest };
    this.monitoring = new Monitoring(this, 'Monitoring', {
      stateMachines: Object.fromEntries([...machines].map(([name, m]) => [name, m.stateMachine])),
      functions: {
        api,
        'agent-step': agentStep,
        ...Object.fromEntries([...toolSteps].map(([name, fn]) => [`tool-step ${name}`, fn])),
        ...Object.fromEntries([...tools].map(([name, fn]) => [`tool ${name}`, fn])),
        'code-step': codeStep,
        finish,
        'approval-request': approvalRequest,
      },
      tools: [...tools.keys()],
      alertTopic: this.alerts.topic,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the Chaperone API' });
    new CfnOutput(this, 'ModelApiKeySecretArn', {
      value: this.modelApiKey.secret.secretArn,
      description:
        'Put your Anthropic API key here: aws secretsmanager put-secret-value --secret-id <this> --secret-string sk-ant-…',
    });
    new CfnOutput(this, 'AlertTopicArn', { value: this.alerts.topic.topicArn });
    new CfnOutput(this, 'StateMachines', { value: Stack.of(this).toJsonString(stateMachineArns) });
  }

  /**
   * The identity of a tool's function, to grant what the tool needs:
   * `paymentsTable.grantWriteData(agents.toolRole('schedule_payment'))`. A
   * `read` tool that is granted a write action fails synth (see
   * {@link acknowledgeToolWrite}).
   */
  public toolRole(toolName: string): iam.IRole {
    const fn = this.tools.get(toolName);
    if (!fn?.role)
      throw new Error(
        `toolRole("${toolName}"): no workflow of ${this.node.path} has a tool named ${toolName}; its tools: ${[...this.tools.keys()].join(', ')}`,
      );
    return fn.role;
  }

  /** The function of a tool, e.g. to give it environment variables. */
  public toolFunction(toolName: string): AgentFunction {
    const fn = this.tools.get(toolName);
    if (!fn)
      throw new Error(
        `toolFunction("${toolName}"): no workflow of ${this.node.path} has a tool named ${toolName}; its tools: ${[...this.tools.keys()].join(', ')}`,
      );
    return fn;
  }

  private readonly writeAcknowledgements = new Map<string, string>();

  /**
   * Let a `read` tool hold write permissions anyway, with the reason (kept in
   * the construct tree and the synth output, like a cdk-nag acknowledgement).
   */
  public acknowledgeToolWrite(toolName: string, reason: string): void {
    this.toolFunction(toolName);
    if (reason.trim().length < 10)
      throw new Error(`acknowledgeToolWrite("${toolName}"): give a reason of at least 10 characters`);
    this.writeAcknowledgements.set(toolName, reason);
  }
}

/**
 * The tool step must outlive the slowest tool call it runs: every attempt at
 * its timeout, every backoff at its cap, and the fallback. At least a minute;
 * at most Lambda's 15.
 */
function toolStepTimeoutSeconds(workflows: readonly Workflow[]): number {
  let worst = 0;
  for (const workflow of workflows) {
    for (const step of workflow.stepsById.values()) {
      if (step.kind !== 'agent') continue;
      const byName = new Map(step.agent.tools.map((t) => [t.name, t]));
      for (const tool of step.agent.tools) {
        worst = Math.max(
          worst,
          worstCaseSeconds(tool, tool.fallback ? byName.get(tool.fallback) : undefined),
        );
      }
    }
  }
  return Math.min(900, Math.max(60, worst + 15));
}
