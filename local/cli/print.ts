/**
 * How the demo prints a run: one line per trail event as it arrives, and a
 * summary at the end. Pure formatting over the `GET /runs/{id}` body.
 */

/** Where the CLI prints (a test passes its own). */
export type Writer = (line: string) => void;

/** The `GET /runs/{id}` body, as far as the CLI reads it. */
export interface RunView {
  runId: string;
  workflow?: string;
  status: string;
  stopReason?: string;
  stopDetail?: string;
  answer?: string;
  error?: string;
  steps?: { used: number; limit: number };
  tokens?: { used: number; limit: number };
  costUsd?: { used: number; limit: number };
  /** The whole cost by service (`GET /runs/{id}`), or why it could not be priced. */
  cost?: RunCostView | { error: string; message: string };
  trail?: TrailItem[];
}

/** The run's cost as `GET /runs/{id}` shows it. */
export interface RunCostView {
  usd: {
    model: number;
    guardrails?: number;
    stepFunctions: number;
    lambda: number;
    dynamodb: number;
    s3: number;
    total: number;
  };
  usage?: {
    guardrails?: { classifications: number; textUnits: number };
    lambda?: { requests: number; billedMs: number; gbSeconds: number };
    dynamodb?: { requests: number; readUnits: number; writeUnits: number };
    s3?: { puts: number; gets: number };
    stepFunctions?: { transitions: number; historyEvents: number | null } | null;
  };
  region?: string;
}

/** One trail event; the fields beyond `seq`, `at` and `type` depend on the type. */
export type TrailItem = { seq: string; at: string; type: string } & Record<string, unknown>;

const num = (n: number): string => n.toLocaleString('en-US');
const usd = (n: number): string => `$${n.toFixed(4)}`;
const str = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));
const short = (v: unknown, max = 100): string => {
  const s = str(v);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
};

/** `step 2/12 · tokens 1,234/60,000 · $0.0123/$1.0000`. */
export function figures(run: RunView): string {
  const parts: string[] = [];
  if (run.steps) parts.push(`step ${run.steps.used}/${run.steps.limit}`);
  if (run.tokens) parts.push(`tokens ${num(run.tokens.used)}/${num(run.tokens.limit)}`);
  if (run.costUsd) parts.push(`${usd(run.costUsd.used)}/${usd(run.costUsd.limit)}`);
  return parts.join(' · ');
}

const usd6 = (n: number): string => `$${n.toFixed(6)}`;

/**
 * The whole cost in one line: the total, then each service with the units it
 * was priced on (`$0.012463 — model $0.012400 · Step Functions $0.000225 (9
 * transitions) · …`).
 */
export function costLine(run: RunView): string | undefined {
  const cost = run.cost;
  if (!cost) return undefined;
  if ('error' in cost) return `not priced (${cost.error}: ${cost.message})`;
  const { usd, usage } = cost;
  const sfn = usage?.stepFunctions
    ? ` (${num(usage.stepFunctions.transitions)} transitions)`
    : ' (transitions counted at the end)';
  const lambda = usage?.lambda
    ? ` (${num(usage.lambda.requests)} invocations, ${usage.lambda.gbSeconds.toFixed(3)} GB-s)`
    : '';
  const ddb = usage?.dynamodb
    ? ` (${num(usage.dynamodb.requests)} requests, ${num(usage.dynamodb.readUnits)} RRU, ${num(usage.dynamodb.writeUnits)} WRU)`
    : '';
  const s3 =
    usage?.s3 && usage.s3.puts + usage.s3.gets > 0 ? ` (${usage.s3.puts} PUT, ${usage.s3.gets} GET)` : '';
  const guarded = usage?.guardrails && usage.guardrails.classifications > 0 ? usage.guardrails : undefined;
  const guardrails = guarded
    ? ` · Bedrock Guardrails ${usd6(usd.guardrails ?? 0)} (${num(guarded.classifications)} classifications, ${num(guarded.textUnits)} text units)`
    : '';
  return (
    `${usd6(usd.total)} — model ${usd6(usd.model)}${guardrails} · Step Functions ${usd6(usd.stepFunctions)}${sfn}` +
    ` · Lambda ${usd6(usd.lambda)}${lambda} · DynamoDB ${usd6(usd.dynamodb)}${ddb}` +
    (usd.s3 > 0 || s3 ? ` · S3 ${usd6(usd.s3)}${s3}` : '') +
    (cost.region ? ` · ${cost.region} prices` : '')
  );
}

/** Running totals over the trail, so each line shows the run as it was then. */
export interface Totals {
  modelCalls: number;
  tokens: number;
  costUsd: number;
}

/** Totals before the first event. */
export const noTotals = (): Totals => ({ modelCalls: 0, tokens: 0, costUsd: 0 });

/**
 * One line for a trail event, or undefined for events not worth a line.
 * `totals` is updated with the event; `run` gives the limits.
 */
export function eventLine(e: TrailItem, run: RunView, totals: Totals = noTotals()): string | undefined {
  switch (e.type) {
    case 'run_started':
      return `▶ run started: ${str(e.workflow)} ${short(e.input)}`;
    case 'model_call': {
      const tokens = Number(e.inputTokens ?? 0) + Number(e.outputTokens ?? 0);
      totals.modelCalls += 1;
      totals.tokens += tokens;
      totals.costUsd += Number(e.costUsd ?? 0);
      const chose =
        Array.isArray(e.toolsChosen) && e.toolsChosen.length > 0
          ? `calls ${e.toolsChosen.map(str).join(', ')}`
          : 'answers';
      const status = e.status === 'ok' ? chose : `error: ${short(e.error)}`;
      const said = typeof e.text === 'string' && e.text !== '' ? ` — "${short(e.text, 90)}"` : '';
      const limits =
        run.steps && run.tokens
          ? ` · step ${totals.modelCalls}/${run.steps.limit} · tokens ${num(totals.tokens)}/${num(run.tokens.limit)}`
          : '';
      return `  🤖 model: ${status}${said}\n     ${num(tokens)} tokens, ${usd(Number(e.costUsd ?? 0))}${limits}`;
    }
    case 'model_call_lost': {
      totals.costUsd += Number(e.costUsd ?? 0);
      return `  ⚠ model${e.call ? ` (${str(e.call)})` : ''}: an attempt ended without recording its call; its reservation is charged (${num(Number(e.chargedTokens ?? 0))} tokens, ${usd(Number(e.costUsd ?? 0))} at most)`;
    }
    case 'tool_call': {
      const mark = e.status === 'ok' ? '✓' : e.status === 'fallback' ? '↪' : '✗';
      const tries =
        Array.isArray(e.attempts) && e.attempts.length > 1 ? `, ${e.attempts.length} attempts` : '';
      const fallback = typeof e.fallbackTool === 'string' ? ` → fallback ${e.fallbackTool}` : '';
      return `  ${mark} tool ${str(e.tool)} ${short(e.args, 80)}: ${str(e.status)}${fallback} (${num(Number(e.durationMs ?? 0))} ms${tries}, ${num(Number(e.resultBytes ?? 0))} B)`;
    }
    case 'tool_rejected':
      return `  ⛔ tool ${str(e.tool)} refused (${str(e.rule)}): ${short(e.message, 140)}`;
    case 'budget_refused':
      return `  ⛔ budget: ${str(e.limit)} limit reached`;
    case 'approval_requested':
      return `  ⏸ approval requested for ${Array.isArray(e.tools) ? e.tools.map(str).join(', ') : '?'} from ${Array.isArray(e.approvers) ? e.approvers.map(str).join(', ') : '?'}`;
    case 'approval_sent':
      return `  ✉ approval link sent to ${Array.isArray(e.approvers) ? e.approvers.map(str).join(', ') : '?'}`;
    case 'approval_decided':
      return `  ${e.decision === 'approved' ? '✅' : '❎'} approval ${str(e.decision)} by ${str(e.decidedBy)}${typeof e.comment === 'string' ? `: ${e.comment}` : ''}`;
    case 'guardrail':
      return `  ⛔ guardrail ${str(e.rule)}: ${short(e.message, 140)}`;
    case 'step_output':
      return undefined;
    case 'run_finished':
      return `■ run ${str(e.outcome)}${typeof e.reason === 'string' ? `: ${e.reason}` : ''}${typeof e.detail === 'string' && e.detail !== '' ? ` (${short(e.detail, 140)})` : ''}`;
    default:
      return `  · ${e.type}`;
  }
}

/** The closing summary: status, answer, figures, and the trail counted by kind. */
export function summary(run: RunView): string[] {
  const trail = run.trail ?? [];
  const count = (type: string, pred: (e: TrailItem) => boolean = () => true): number =>
    trail.filter((e) => e.type === type && pred(e)).length;
  const lines = ['', `Run ${run.runId}: ${run.status}${run.stopReason ? ` (${run.stopReason})` : ''}`];
  if (run.answer) lines.push('', 'Answer:', ...run.answer.split('\n').map((l) => `  ${l}`));
  if (run.error) lines.push(`Error: ${run.error}`);
  if (run.stopDetail) lines.push(`Detail: ${run.stopDetail}`);
  const cost = costLine(run);
  lines.push(
    '',
    `Figures: ${figures(run)}`,
    ...(cost ? [`Cost: ${cost}`] : []),
    `Trail: ${trail.length} events — ${count('model_call')} model calls, ` +
      `${count('tool_call')} tool calls (${count('tool_call', (e) => e.status === 'ok')} ok), ` +
      `${count('tool_rejected')} refused, ${count('approval_requested')} approval(s), ${count('guardrail')} guardrail event(s)`,
  );
  return lines;
}
