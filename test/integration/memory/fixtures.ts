import {
  agent,
  defineAgent,
  defineKnowledge,
  defineTool,
  defineWorkflow,
} from '../../../state-machines/index.js';

export const policies = defineKnowledge({ name: 'policies', dimension: 256, maxChunkChars: 400 });

const lookupOrder = defineTool({
  name: 'lookup_order',
  description: 'Look an order up by id.',
  input: {
    type: 'object',
    properties: { order_id: { type: 'string', pattern: '^ORD-[0-9]{4}$' } },
    required: ['order_id'],
    additionalProperties: false,
  } as const,
  access: 'read',
  run: async ({ order_id }) => ({ order_id, status: 'delivered', days_since_delivery: 12 }),
});

export const TASK_PREFIX = 'Answer the customer about order';

const support = defineAgent({
  name: 'support',
  model: 'claude-haiku-4-5',
  system: 'You answer customer questions from the policies you are given.',
  tools: [lookupOrder],
  knowledge: { source: policies, topK: 4, minScore: 0.2 },
});

export const supportWorkflow = defineWorkflow({
  name: 'support-question',
  description: 'Answer a customer question about an order',
  input: {
    type: 'object',
    properties: { question: { type: 'string', maxLength: 500 }, orderId: { type: 'string' } },
    required: ['question', 'orderId'],
    additionalProperties: false,
  } as const,
  steps: [
    agent('answer', {
      agent: support,
      prompt: ({ input }) => {
        const i = input as { question: string; orderId: string };
        return `${TASK_PREFIX} ${i.orderId}: ${i.question}`;
      },
    }),
  ],
  limits: { maxSteps: 6 },
  memory: { examples: 2, minScore: 0.3 },
});
