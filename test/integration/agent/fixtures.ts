import { responder, text, toolUse } from '../../../local/scripted-model/index.js';
import type { RecordedRequest, ScriptedTurn } from '../../../local/scripted-model/types.js';
import type { BedrockProvider } from '../../../state-machines/agent.js';
import { agent, defineAgent, defineTool, defineWorkflow } from '../../../state-machines/index.js';

/** Switches the test tools read; reset before each test. */
export const switches = { flakyFailures: 0, flakyCalls: 0, backupCalls: 0, voided: 0 };

class HttpLikeError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const idInput = {
  type: 'object',
  properties: { id: { type: 'string', pattern: '^[A-Z]-[0-9]+$' } },
  required: ['id'],
  additionalProperties: false,
} as const;

/** One page of a long report: about 1,400 characters, a figure of its own, the rest filler (the conversation-window tests). */
export const readPage = defineTool({
  name: 'read_page',
  description: 'Read one page of the report.',
  input: {
    type: 'object',
    properties: { page: { type: 'integer', minimum: 1 } },
    required: ['page'],
    additionalProperties: false,
  } as const,
  access: 'read',
  run: async ({ page }) =>
    `Page ${page}: the figure on this page is ${page * 37}. ${'Background text of the page. '.repeat(45)}`,
});

/** The long-read workflows' input: the report to read. */
export const reportInput = {
  type: 'object',
  properties: { report: { type: 'string' } },
  required: ['report'],
  additionalProperties: false,
} as const;

/**
 * A conversation past its window (8,000 tokens, the last 3 turns kept) that reads `readPage`
 * page by page: its turns fold into a running summary, itself a model call.
 */
export const longRead = (
  name: string,
  options: { maxTokens?: number; dailyCaps?: { tokens: number } } = {},
) =>
  defineWorkflow({
    name,
    ...(options.dailyCaps ? { dailyCaps: options.dailyCaps } : {}),
    description: 'a conversation past its window',
    input: reportInput,
    steps: [
      agent('read', {
        agent: defineAgent({
          name: 'reader',
          model: 'claude-haiku-4-5',
          system: 'You read reports.',
          tools: [readPage],
          window: { maxTokens: 8_000, keepTurns: 3 },
          maxIdenticalCalls: 1,
        }),
        prompt: () => 'Read the report page by page and list every figure it gives.',
      }),
    ],
    limits: { maxSteps: 30, maxTokens: options.maxTokens ?? 1_000_000, maxCostUsd: 100 },
  });

/** The running summary the scripted model writes for {@link longRead}. */
export const SUMMARY = text('Figures so far: 37 times the page number.');

/**
 * The scripted reader of {@link longRead}: the next page until `pages`, then its answer;
 * `summary` (or what it makes of the request) to a summary request.
 */
export const reading = (
  name: string,
  pages = 12,
  summary: ScriptedTurn | ((req: RecordedRequest) => ScriptedTurn) = SUMMARY,
) =>
  responder(name, (req: RecordedRequest) => {
    if (req.conversation.endsWith(':summary')) return typeof summary === 'function' ? summary(req) : summary;
    const last = JSON.stringify(req.body.messages.at(-1)?.content ?? '');
    const page = Number(/Page (\d+):/.exec(last)?.[1] ?? 0) + 1;
    return page <= pages ? toolUse('read_page', { page }) : text('Listed every figure.');
  });

export const lookup = defineTool({
  name: 'lookup',
  description: 'Look a record up by id (like A-1).',
  input: idInput,
  access: 'read',
  timeoutSeconds: 5,
  run: async ({ id }) => ({ id, name: `record ${id}` }),
});

export const flaky = defineTool({
  name: 'flaky',
  description: 'A rate-limited API.',
  input: idInput,
  access: 'read',
  timeoutSeconds: 5,
  retry: { maxAttempts: 3, baseDelayMs: 40, maxDelayMs: 200 },
  run: async ({ id }) => {
    switches.flakyCalls += 1;
    if (switches.flakyFailures > 0) {
      switches.flakyFailures -= 1;
      throw new HttpLikeError('429 Too Many Requests', 429);
    }
    return { id, ok: true };
  },
});

export const hang = defineTool({
  name: 'hang',
  description: 'An integration that never answers.',
  input: idInput,
  access: 'read',
  timeoutSeconds: 0.3,
  retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
  run: () => new Promise<never>(() => {}),
});

export const backup = defineTool({
  name: 'backup',
  description: 'A slower, always-available copy.',
  input: idInput,
  access: 'read',
  timeoutSeconds: 5,
  run: async ({ id }) => {
    switches.backupCalls += 1;
    return { id, source: 'backup' };
  },
});

export const broken = defineTool({
  name: 'broken',
  description: 'An API that is down.',
  input: idInput,
  access: 'read',
  timeoutSeconds: 5,
  retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 40 },
  fallback: 'backup',
  breaker: { failureThreshold: 1000, cooldownSeconds: 1 },
  run: async () => {
    throw new HttpLikeError('503 Service Unavailable', 503);
  },
});

export const big = defineTool({
  name: 'big',
  description: 'Returns a very large result.',
  input: idInput,
  access: 'read',
  timeoutSeconds: 5,
  trim: { maxBytes: 1024 },
  run: async ({ id }) =>
    Array.from({ length: 2000 }, (_, i) => ({ id, row: i, text: 'lorem ipsum dolor sit amet' })),
});

export const slow = defineTool({
  name: 'slow',
  description: 'Takes its time (2.5 s).',
  input: idInput,
  access: 'read',
  timeoutSeconds: 10,
  run: async ({ id }) => {
    await new Promise((r) => setTimeout(r, 2500));
    return { id };
  },
});

export const voidRecord = defineTool({
  name: 'void_record',
  description: 'Delete a record for ever.',
  input: idInput,
  access: 'destructive',
  approval: false,
  run: async () => {
    switches.voided += 1;
    return { voided: true };
  },
});

const taskInput = {
  type: 'object',
  properties: { task: { type: 'string', maxLength: 500 } },
  required: ['task'],
  additionalProperties: false,
} as const;

/** How the fixtures' agents reach their model: the Anthropic API, or Bedrock. */
export type ModelChoice = { model: string } | { provider: BedrockProvider };

/** The Bedrock model of the Bedrock fixtures: a US cross-Region inference profile. */
export const BEDROCK_TEST_MODEL = 'us.anthropic.claude-haiku-4-5-20251001-v1:0';

/**
 * The three-layer agents and workflows with their model on `choice`: the same
 * tools, limits and workflow names on every provider, so one suite runs on each.
 */
export function toolTestFixtures(choice: ModelChoice) {
  const tester = defineAgent({
    name: 'tester',
    ...choice,
    system: 'You test tools.',
    tools: [lookup, flaky, hang, broken, backup, big],
    maxTokens: 256,
    maxIdenticalCalls: 2,
  });

  /** Has a destructive tool in its list but read-only access: the policy must refuse it. */
  const readOnly = defineAgent({
    name: 'readonly',
    ...choice,
    system: 'You only read.',
    tools: [lookup, voidRecord],
    access: 'read',
    maxTokens: 256,
  });

  const testWorkflow = defineWorkflow({
    name: 'tool-tests',
    description: 'Exercises the three layers of defence.',
    input: taskInput,
    steps: [agent('work', { agent: tester, prompt: ({ input }) => (input as { task: string }).task })],
    limits: { maxSteps: 6, maxTokens: 200_000, maxCostUsd: 5, timeLimitSeconds: 120, maxToolFailures: 20 },
  });

  const policyWorkflow = defineWorkflow({
    name: 'policy-tests',
    description: 'A read-only agent.',
    input: taskInput,
    steps: [agent('read', { agent: readOnly, prompt: ({ input }) => (input as { task: string }).task })],
  });

  const tightBudgetWorkflow = defineWorkflow({
    name: 'tight-budget',
    description: 'A token budget that runs out.',
    input: taskInput,
    steps: [agent('work', { agent: tester, prompt: ({ input }) => (input as { task: string }).task })],
    limits: { maxSteps: 20, maxTokens: 5_000, maxCostUsd: 5, timeLimitSeconds: 120 },
  });

  const slowAgent = defineAgent({
    name: 'slowpoke',
    ...choice,
    system: 'You are slow.',
    tools: [slow],
    maxTokens: 128,
  });

  const timeLimitedWorkflow = defineWorkflow({
    name: 'time-limited',
    description: 'A two-second wall-clock limit.',
    input: taskInput,
    steps: [agent('work', { agent: slowAgent, prompt: ({ input }) => (input as { task: string }).task })],
    limits: { timeLimitSeconds: 2 },
  });

  return { tester, readOnly, testWorkflow, policyWorkflow, tightBudgetWorkflow, timeLimitedWorkflow };
}

export const { tester, readOnly, testWorkflow, policyWorkflow, tightBudgetWorkflow, timeLimitedWorkflow } =
  toolTestFixtures({ model: 'claude-haiku-4-5' });

/** The same fixtures on Amazon Bedrock. */
export const bedrockFixtures = toolTestFixtures({
  provider: { kind: 'bedrock', modelId: BEDROCK_TEST_MODEL },
});
