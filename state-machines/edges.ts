import { WorkflowDefinitionError } from './errors.js';

/** The run-wide limits that have an edge: what happens when the next model call would pass them. */
export const LIMIT_NAMES = ['steps', 'tokens', 'cost', 'time'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

/**
 * What happens at a limit:
 * - `fail`: the named stop (`StepLimitExceeded`, `BudgetExceeded`, `TimeLimitExceeded`);
 * - `final-answer`: one last model call with no tools, paid from a margin held back in the
 *   ledger for exactly that (so the cap still holds); the answer says it was cut short;
 * - `ask`: an approval through the workflow's gate ("extend by …?"): approved, the ledger is
 *   extended and the run goes on; rejected or timed out, the named stop.
 */
export const LIMIT_EDGES = ['fail', 'final-answer', 'ask'] as const;
export type LimitEdge = (typeof LIMIT_EDGES)[number];

/** The edge of each limit. */
export type LimitEdges = Readonly<Record<LimitName, LimitEdge>>;

/** How far an `ask` edge may extend one limit. */
export interface ExtensionPolicy {
  /** What the approver is offered (they may grant less, or more up to `max`). */
  by: number;
  /** The most one run may be extended in all, over every extension of this limit. */
  max: number;
}

/** Extension policies by limit; steps, tokens and seconds are integers, cost is USD. */
export interface ExtensionOptions {
  steps?: Partial<ExtensionPolicy>;
  tokens?: Partial<ExtensionPolicy>;
  costUsd?: Partial<ExtensionPolicy>;
  timeSeconds?: Partial<ExtensionPolicy>;
}

export type Extensions = Readonly<Record<LimitName, ExtensionPolicy>>;

/** What a `final-answer` edge holds back from the limits for the last call. */
export interface FinalAnswerMargin {
  tokens: number;
  costUsd: number;
  /** One step when any edge is `final-answer`. */
  steps: number;
}

/** The field of `extensions` for a limit. */
export const EXTENSION_FIELD: Readonly<Record<LimitName, keyof ExtensionOptions>> = {
  steps: 'steps',
  tokens: 'tokens',
  cost: 'costUsd',
  time: 'timeSeconds',
};

/** The unit a limit is counted in, for messages. */
export const LIMIT_UNIT: Readonly<Record<LimitName, string>> = {
  steps: 'steps',
  tokens: 'tokens',
  cost: 'USD',
  time: 'seconds',
};

/** The stop each limit ends in when its edge is `fail` (or an `ask` is rejected). */
export const LIMIT_STOP: Readonly<Record<LimitName, string>> = {
  steps: 'StepLimitExceeded',
  tokens: 'BudgetExceeded',
  cost: 'BudgetExceeded',
  time: 'TimeLimitExceeded',
};

/**
 * Check an `edges` setting (of a workflow or an agent): every key names a
 * limit, every value is an edge. The field named in an error is `<where>.<key>`.
 */
export function checkEdges(
  subject: string,
  where: string,
  edges: unknown,
): Partial<Record<LimitName, LimitEdge>> {
  if (edges === undefined) return {};
  if (typeof edges !== 'object' || edges === null || Array.isArray(edges))
    throw new WorkflowDefinitionError(
      subject,
      `${where} must be an object like { tokens: 'ask' }, got ${JSON.stringify(edges)}`,
    );
  const out: Partial<Record<LimitName, LimitEdge>> = {};
  for (const [key, value] of Object.entries(edges)) {
    if (!(LIMIT_NAMES as readonly string[]).includes(key))
      throw new WorkflowDefinitionError(
        subject,
        `${where}.${key} names no limit: the limits with an edge are ${LIMIT_NAMES.join(', ')}`,
      );
    if (!(LIMIT_EDGES as readonly unknown[]).includes(value))
      throw new WorkflowDefinitionError(
        subject,
        `${where}.${key} must be ${LIMIT_EDGES.map((e) => `'${e}'`).join(', ')}, got ${JSON.stringify(value)}`,
      );
    out[key as LimitName] = value as LimitEdge;
  }
  return out;
}

/** Extension policies with defaults (offer half the limit, at most the limit again in all). */
export function checkExtensions(
  subject: string,
  options: unknown,
  limits: { maxSteps: number; maxTokens: number; maxCostUsd: number; timeLimitSeconds: number },
): Extensions {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options)))
    throw new WorkflowDefinitionError(
      subject,
      `extensions must be an object, got ${JSON.stringify(options)}`,
    );
  const given = (options ?? {}) as Record<string, unknown>;
  const fields = Object.values(EXTENSION_FIELD) as string[];
  for (const key of Object.keys(given)) {
    if (!fields.includes(key))
      throw new WorkflowDefinitionError(
        subject,
        `extensions.${key} names no limit: use ${fields.join(', ')}`,
      );
  }
  const base: Record<LimitName, number> = {
    steps: limits.maxSteps,
    tokens: limits.maxTokens,
    cost: limits.maxCostUsd,
    time: limits.timeLimitSeconds,
  };
  const out = {} as Record<LimitName, ExtensionPolicy>;
  for (const limit of LIMIT_NAMES) {
    const field = EXTENSION_FIELD[limit];
    const raw = given[field];
    if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw)))
      throw new WorkflowDefinitionError(
        subject,
        `extensions.${field} must be { by, max }, got ${JSON.stringify(raw)}`,
      );
    const policy = (raw ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(policy))
      if (key !== 'by' && key !== 'max')
        throw new WorkflowDefinitionError(subject, `extensions.${field}.${key} is not a field: use by, max`);
    const integer = limit !== 'cost';
    const dflt = (n: number) => (integer ? Math.max(1, Math.ceil(n)) : n);
    const max = policy.max ?? dflt(base[limit]);
    const by = policy.by ?? Math.min(dflt(base[limit] / 2), max as number);
    for (const [k, v] of [
      ['by', by],
      ['max', max],
    ] as const) {
      if (!(typeof v === 'number' && v > 0 && Number.isFinite(v) && (!integer || Number.isInteger(v))))
        throw new WorkflowDefinitionError(
          subject,
          `extensions.${field}.${k} must be a positive ${integer ? 'integer' : 'number'}, got ${JSON.stringify(v)}`,
        );
    }
    if ((by as number) > (max as number))
      throw new WorkflowDefinitionError(
        subject,
        `extensions.${field}.by (${String(by)}) is larger than extensions.${field}.max (${String(max)})`,
      );
    out[limit] = { by: by as number, max: max as number };
  }
  return out;
}

/** The margin a `final-answer` edge holds back (default: a fifth of the tokens and of the cost). */
export function checkMargin(
  subject: string,
  options: unknown,
  limits: { maxTokens: number; maxCostUsd: number },
): FinalAnswerMargin {
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options)))
    throw new WorkflowDefinitionError(
      subject,
      `finalAnswerMargin must be { tokens, costUsd }, got ${JSON.stringify(options)}`,
    );
  const given = (options ?? {}) as Record<string, unknown>;
  for (const key of Object.keys(given))
    if (key !== 'tokens' && key !== 'costUsd')
      throw new WorkflowDefinitionError(
        subject,
        `finalAnswerMargin.${key} is not a field: use tokens, costUsd`,
      );
  const tokens = given.tokens ?? Math.max(1, Math.floor(limits.maxTokens / 5));
  const costUsd = given.costUsd ?? limits.maxCostUsd / 5;
  if (!(typeof tokens === 'number' && Number.isInteger(tokens) && tokens > 0 && tokens < limits.maxTokens))
    throw new WorkflowDefinitionError(
      subject,
      `finalAnswerMargin.tokens must be a positive integer below limits.maxTokens (${limits.maxTokens}), got ${JSON.stringify(tokens)}`,
    );
  if (!(typeof costUsd === 'number' && costUsd > 0 && costUsd < limits.maxCostUsd))
    throw new WorkflowDefinitionError(
      subject,
      `finalAnswerMargin.costUsd must be a positive number below limits.maxCostUsd (${limits.maxCostUsd}), got ${JSON.stringify(costUsd)}`,
    );
  return { tokens, costUsd, steps: 1 };
}
