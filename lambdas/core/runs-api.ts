import type { Workflow } from '../../state-machines/workflow.js';
import { canonicalJson } from './canonical.js';
import { eventIds } from './claims.js';
import type { AlertPublisher, CoreDeps } from './deps.js';
import { causeSummary } from './error-cause.js';
import { ChaperoneError, PriceTableError } from './errors.js';
import { checkRunInput } from './input-guardrails.js';
import type { Json } from './model.js';
import { executionArnOf, type WorkflowEngine } from './ports.js';
import { MICROS_PER_USD } from './pricing.js';
import type { Ledger, RunMeta } from './run-records.js';
import { pendingTransaction, runCost, usageSnapshot } from './usage.js';

/** An HTTP-shaped answer: handlers map it to API Gateway's response. */
export interface ApiResult {
  status: number;
  body: Json;
}

export interface RunsApiDeps extends CoreDeps {
  engine: WorkflowEngine;
  alerts: AlertPublisher;
  /** Workflow name → state machine ARN. */
  stateMachines: Readonly<Record<string, string>>;
  newId: () => string;
  /** The Region priced when no invocation of a run was metered yet. @default 'us-east-1' */
  pricingRegion?: string;
}

const RUN_ID = /^[A-Za-z0-9_-]{1,80}$/;

const badRequest = (field: string, message: string, rule?: string): ApiResult => ({
  status: 400,
  body: { error: 'ValidationError', field, message, ...(rule ? { rule } : {}) },
});

/**
 * `POST /runs`: check the body, the workflow and its input guardrails, then
 * create the run and its ledger and start the execution (named by the run id,
 * so a retried request starts nothing twice). A bad request creates nothing.
 */
export async function startRun(rawBody: string | null | undefined, deps: RunsApiDeps): Promise<ApiResult> {
  if (!rawBody)
    return badRequest('/', 'the request body is missing: send {"workflow": "...", "input": {...}}');
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch (err) {
    return badRequest('/', `the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return badRequest('/', 'the request body must be a JSON object');
  const { workflow: name, input, runId: requestedId, tenant, ...extra } = body as Record<string, unknown>;
  const unknownKeys = Object.keys(extra);
  if (unknownKeys.length > 0)
    return badRequest(
      `/${unknownKeys[0]}`,
      `unknown field "${unknownKeys[0]}"; allowed: workflow, input, runId, tenant`,
    );
  if (typeof name !== 'string' || name === '')
    return badRequest('/workflow', 'workflow is required and must be a string');
  const workflow = deps.workflows.get(name);
  const arn = deps.stateMachines[name];
  if (!workflow || !arn) {
    return {
      status: 404,
      body: {
        error: 'NotFoundError',
        field: '/workflow',
        message: `unknown workflow "${name}"; deployed: ${deps.workflows.names().join(', ')}`,
      },
    };
  }
  if (input === undefined) return badRequest('/input', 'input is required');
  if (requestedId !== undefined && (typeof requestedId !== 'string' || !RUN_ID.test(requestedId))) {
    return badRequest('/runId', 'runId must match ^[A-Za-z0-9_-]{1,80}$');
  }
  if (tenant !== undefined && (typeof tenant !== 'string' || !RUN_ID.test(tenant))) {
    return badRequest('/tenant', 'tenant must match ^[A-Za-z0-9_-]{1,80}$');
  }
  const verdict = await checkRunInput(workflow, input);
  if (!verdict.ok) {
    deps.metrics.count('GuardrailRejections', 1, { rule: verdict.rule });
    deps.log.warn('run input rejected', { workflow: name, rule: verdict.rule, field: verdict.field });
    const status = verdict.rule === 'input_size' ? 413 : verdict.rule === 'input_schema' ? 400 : 422;
    return {
      status,
      body: {
        error: 'GuardrailRejection',
        rule: verdict.rule,
        field: verdict.field,
        message: verdict.message,
      },
    };
  }

  const runId = requestedId ?? deps.newId();
  const now = deps.clock.now();
  const nowIso = new Date(now).toISOString();
  const limits = workflow.limits;
  const meta: RunMeta = {
    runId,
    workflow: name,
    input: input as Json,
    status: 'RUNNING',
    createdAt: nowIso,
    updatedAt: nowIso,
    deadline: now + limits.timeLimitSeconds * 1000,
    // Known before it starts: a Standard execution's ARN is its state machine's and its name.
    executionArn: executionArnOf(arn, runId),
    ...(typeof tenant === 'string' ? { tenant } : {}),
  };
  const ledger: Ledger = {
    tokenLimit: limits.maxTokens,
    tokensRemaining: limits.maxTokens,
    tokensUsed: 0,
    costLimitMicros: Math.round(limits.maxCostUsd * MICROS_PER_USD),
    costRemainingMicros: Math.round(limits.maxCostUsd * MICROS_PER_USD),
    costUsedMicros: 0,
    stepLimit: limits.maxSteps,
    stepsRemaining: limits.maxSteps,
    stepsUsed: 0,
    toolFailureLimit: limits.maxToolFailures,
    toolFailures: 0,
    ...marginOf(workflow),
    extended: { steps: 0, tokens: 0, costMicros: 0, seconds: 0 },
  };
  const started = {
    type: 'run_started' as const,
    workflow: name,
    input: input as Json,
    limits: { ...limits },
  };
  // The api invocation's usage so far, this write included, is the run's first cost.
  const usage = usageSnapshot(pendingTransaction([ledger, meta, started], 2));
  // Two idempotent operations: the run (its record, its ledger and the trail's first event) is
  // created once, in one transaction, and StartExecution named by the run id is called for every
  // request while the run is RUNNING (idempotent on name and input: a running execution answers
  // with itself, an ended one as existing already), so a client retry after a crash anywhere
  // here ends with exactly one run and one execution.
  const created = await deps.store.createRun(meta, ledger, {
    id: eventIds.runStarted(),
    event: usage ? { ...started, usage } : started,
  });
  let run = meta;
  if (!created) {
    const existing = await deps.store.getRun(runId);
    if (!existing || existing.workflow !== name || canonicalJson(existing.input) !== canonicalJson(input)) {
      return {
        status: 409,
        body: {
          error: 'ConflictError',
          field: '/runId',
          message: `run ${runId} exists already with another workflow or input`,
        },
      };
    }
    run = existing;
  }
  const links = { self: `/runs/${runId}` };
  if (run.status !== 'RUNNING') {
    return { status: created ? 201 : 200, body: { runId, status: run.status, links } };
  }
  try {
    await deps.engine.startExecution(arn, runId, JSON.stringify({ runId }));
  } catch (err) {
    if (err instanceof ChaperoneError && err.retryable) {
      // Nothing is lost: the run waits for the client's retry, which starts the same execution.
      return {
        status: 503,
        body: {
          error: err.name,
          message: `run ${runId} is recorded; its execution could not start yet (${err.message}). Send the same request again.`,
          runId,
        },
      };
    }
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    await deps.store.closeRun(runId, {
      status: 'FAILED',
      error: `could not start the execution: ${message}`,
    });
    await deps.store.appendEvent(runId, eventIds.runFinished(), {
      type: 'run_finished',
      outcome: 'failed',
      detail: message,
    });
    return {
      status: 502,
      body: {
        error: 'StartFailed',
        message: `run ${runId} was recorded but its execution could not start: ${message}`,
      },
    };
  }
  return { status: created ? 201 : 200, body: { runId, status: 'RUNNING', links } };
}

/**
 * What a `final-answer` edge holds back for the last call: the ledger's
 * remaining counters start that much below the limits, so ordinary calls can
 * never spend it (see `reserveMargin`).
 */
function marginOf(workflow: Workflow): Partial<Ledger> {
  const margin = workflow.finalAnswerMargin;
  if (!margin) return {};
  const limits = workflow.limits;
  const costMicros = Math.round(margin.costUsd * MICROS_PER_USD);
  return {
    tokensRemaining: limits.maxTokens - margin.tokens,
    costRemainingMicros: Math.round(limits.maxCostUsd * MICROS_PER_USD) - costMicros,
    stepsRemaining: limits.maxSteps - margin.steps,
    marginTokens: margin.tokens,
    marginCostMicros: costMicros,
    marginSteps: margin.steps,
  };
}

/** `GET /runs/{id}`: status with the figures (used of limit), the answer, and the trail. */
export async function getRun(runId: string | undefined, deps: RunsApiDeps): Promise<ApiResult> {
  if (!runId || !RUN_ID.test(runId)) return badRequest('/id', 'run id must match ^[A-Za-z0-9_-]{1,80}$');
  const meta = await deps.store.getRun(runId);
  if (!meta)
    return {
      status: 404,
      body: { error: 'NotFoundError', field: '/id', message: `run ${runId} does not exist` },
    };
  const [ledger, trail] = await Promise.all([deps.store.getLedger(runId), deps.store.listEvents(runId)]);
  let status: string = meta.status;
  let stopReason = meta.stopReason;
  let stopDetail = meta.stopDetail;
  let redrivable = false;
  /** What Step Functions billed an execution that ended without the finish task (which counts them otherwise). */
  let unfinished: { transitions: number; historyEvents: number } | undefined;
  if (meta.status === 'RUNNING' && meta.executionArn) {
    // The execution can end without our finish task: an execution timeout or a manual stop.
    const execution = await deps.engine.describeExecution(meta.executionArn);
    if (execution && execution.status !== 'RUNNING') {
      const figures = await deps.engine.historyFigures(meta.executionArn);
      if (figures) unfinished = { transitions: figures.transitions, historyEvents: figures.events };
    }
    if (execution?.status === 'TIMED_OUT') {
      status = 'STOPPED';
      stopReason = 'TimeLimitExceeded';
      stopDetail = 'the execution reached its time limit';
    } else if (execution && ['ABORTED', 'FAILED'].includes(execution.status)) {
      // A platform failure past its retries: not recorded by the run (no Fail state caught it),
      // so the execution resumes where it failed with `POST /runs/{id}/redrive`.
      status = 'FAILED';
      stopDetail = `${execution.error ?? execution.status}: ${causeSummary(execution.cause)}`;
      redrivable = true;
    }
  }
  const body: Record<string, Json> = {
    runId,
    workflow: meta.workflow,
    status,
    createdAt: meta.createdAt,
    updatedAt: meta.updatedAt,
    input: meta.input,
    trail: trail as unknown as Json,
  };
  if (stopReason) body.stopReason = stopReason;
  if (stopDetail) body.stopDetail = stopDetail;
  if (meta.answer !== undefined) body.answer = meta.answer;
  if (meta.error) body.error = meta.error;
  if (redrivable) body.redrivable = true;
  if (ledger) {
    body.steps = { used: ledger.stepsUsed, limit: ledger.stepLimit };
    body.tokens = { used: ledger.tokensUsed, limit: ledger.tokenLimit };
    body.costUsd = {
      used: ledger.costUsedMicros / MICROS_PER_USD,
      limit: ledger.costLimitMicros / MICROS_PER_USD,
    };
    body.toolFailures = { count: ledger.toolFailures, limit: ledger.toolFailureLimit };
  }
  try {
    // An execution that ended without the finish task: its transitions from its history, as finish counts them.
    const { usage, cost } = runCost(trail, deps.pricingRegion ?? 'us-east-1', unfinished);
    // USD by service (model tokens, Bedrock Guardrails, Step Functions, Lambda, DynamoDB, S3) and the units priced.
    body.cost = {
      usd: { ...cost },
      usage: {
        modelTokens: usage.modelTokens,
        guardrails: {
          classifications: usage.guardrails.classifications,
          textUnits: usage.guardrails.textUnits,
        },
        lambda: {
          requests: usage.lambdaRequests,
          billedMs: usage.lambdaBilledMs,
          gbSeconds: usage.lambdaGbSeconds.arm64 + usage.lambdaGbSeconds.x86_64,
        },
        dynamodb: usage.dynamodb,
        s3: usage.s3,
        // Counted from the execution's history when the run finishes.
        stepFunctions:
          usage.sfnTransitions === undefined
            ? null
            : { transitions: usage.sfnTransitions, historyEvents: usage.historyEvents ?? null },
      },
      region: usage.regions[0] ?? deps.pricingRegion ?? 'us-east-1',
    };
  } catch (err) {
    if (!(err instanceof PriceTableError)) throw err;
    body.cost = { error: err.name, message: err.message };
  }
  return { status: 200, body };
}

const conflict = (message: string, reason?: string): ApiResult => ({
  status: 409,
  body: { error: 'NotRedrivable', field: '/id', message, ...(reason ? { reason } : {}) },
});

/**
 * `POST /runs/{id}/redrive`: resume a run whose execution failed for a
 * platform reason (a Lambda crash, throttling past its retries) at the
 * state that failed (`RedriveExecution`). Every step is claim-first, so the
 * resumed run repeats no completed model call or side effect. Refused with
 * 409, changing nothing, for a run that is running, succeeded, or ended in
 * a named stop (budget, policy, loop, rejection, time): those need an
 * extension or a new run.
 */
export async function redriveRun(runId: string | undefined, deps: RunsApiDeps): Promise<ApiResult> {
  if (!runId || !RUN_ID.test(runId)) return badRequest('/id', 'run id must match ^[A-Za-z0-9_-]{1,80}$');
  const meta = await deps.store.getRun(runId);
  if (!meta)
    return {
      status: 404,
      body: { error: 'NotFoundError', field: '/id', message: `run ${runId} does not exist` },
    };
  if (meta.status === 'SUCCEEDED') return conflict(`run ${runId} succeeded: there is nothing to redrive`);
  if (meta.status === 'STOPPED' || meta.status === 'REJECTED')
    return conflict(
      `run ${runId} ended in the named stop ${meta.stopReason ?? meta.status}${meta.stopDetail ? ` (${meta.stopDetail})` : ''}: a named stop is not redrivable, it would stop the same way. Start a new run, or give the workflow an 'ask' edge for this limit so the run can be extended.`,
      meta.stopReason,
    );
  if (meta.status === 'FAILED')
    return conflict(
      `run ${runId} failed with a terminal error (${meta.error ?? 'unknown'}): a redrive would fail the same way. Fix the cause and start a new run.`,
      'RunFailed',
    );
  const execution = meta.executionArn ? await deps.engine.describeExecution(meta.executionArn) : undefined;
  if (!meta.executionArn || !execution)
    return conflict(`run ${runId} has no execution yet: send the same POST /runs again to start it`);
  if (execution.status === 'RUNNING')
    return conflict(`run ${runId} is still running: there is nothing to redrive`);
  if (execution.status === 'SUCCEEDED')
    return conflict(`run ${runId} succeeded: there is nothing to redrive`);
  if (execution.status === 'TIMED_OUT')
    return conflict(
      `run ${runId} ended in the named stop TimeLimitExceeded (the execution reached its time limit): a named stop is not redrivable`,
      'TimeLimitExceeded',
    );
  const out = await deps.engine.redriveExecution(meta.executionArn);
  if ('refused' in out) return conflict(`run ${runId} cannot be redriven: ${out.refused}`);
  const failure = `${execution.error ?? execution.status}: ${causeSummary(execution.cause)}`;
  await deps.store.appendEvent(runId, eventIds.runRedriven(out.redriveDate), {
    type: 'run_redriven',
    failure,
    redriveDate: out.redriveDate,
  });
  deps.log.info('run redriven', { runId, failure });
  return {
    status: 202,
    body: {
      runId,
      status: 'RUNNING',
      redriven: failure,
      redriveDate: out.redriveDate,
      links: { self: `/runs/${runId}` },
    },
  };
}
