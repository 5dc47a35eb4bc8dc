import { describe, expect, it } from 'vitest';
import {
  agent,
  defineAgent,
  defineKnowledge,
  defineWorkflow,
  knowledgeSourcesOf,
  WorkflowDefinitionError,
} from '../../../state-machines/index.js';

const input = {
  type: 'object',
  properties: { q: { type: 'string' } },
  required: ['q'],
  additionalProperties: false,
} as const;

describe('memory declarations', () => {
  it('applies defaults to a knowledge source, an agent filter and episodic memory', () => {
    const kb = defineKnowledge({ name: 'faq' });
    expect(kb).toMatchObject({ name: 'faq', dimension: 1024, maxChunkChars: 1200 });
    const a = defineAgent({
      name: 'a',
      model: 'claude-haiku-4-5',
      system: 's',
      tools: [],
      knowledge: { source: kb },
    });
    expect(a.knowledge).toMatchObject({ topK: 5, minScore: 0.35 });
    const w = defineWorkflow({
      name: 'w',
      description: 'd',
      input,
      steps: [agent('s', { agent: a, prompt: () => 'p' })],
      memory: {},
    });
    expect(w.memory).toEqual({ examples: 3, minScore: 0.5, outcomes: ['SUCCEEDED'] });
    expect([...knowledgeSourcesOf([w]).keys()]).toEqual(['faq']);
  });

  it.each([
    [() => defineKnowledge({ name: 'Bad_Name' }), /knowledge source "Bad_Name": name must match/],
    [
      () => defineKnowledge({ name: 'faq', dimension: 768 as 1024 }),
      /dimension must be one of 256, 512, 1024, got 768/,
    ],
    [
      () =>
        defineAgent({
          name: 'a',
          model: 'claude-haiku-4-5',
          system: 's',
          tools: [],
          knowledge: { source: defineKnowledge({ name: 'faq' }), topK: 0 },
        }),
      /agent "a": knowledge.topK must be an integer in \[1, 30\], got 0/,
    ],
    [
      () =>
        defineAgent({
          name: 'a',
          model: 'claude-haiku-4-5',
          system: 's',
          tools: [],
          knowledge: { source: defineKnowledge({ name: 'faq' }), minScore: 1.5 },
        }),
      /knowledge.minScore must be in \[0, 1\), got 1.5/,
    ],
    [
      () =>
        defineWorkflow({
          name: 'w',
          description: 'd',
          input,
          steps: [
            agent('s', {
              agent: defineAgent({ name: 'a', model: 'claude-haiku-4-5', system: 's', tools: [] }),
              prompt: () => 'p',
            }),
          ],
          memory: { outcomes: [] },
        }),
      /memory.outcomes names no outcome/,
    ],
  ])('refuses a declaration that cannot work (%#)', (declare, message) => {
    expect(declare).toThrow(WorkflowDefinitionError);
    expect(declare).toThrow(message);
  });

  it('refuses one source name declared twice with different settings', () => {
    const mk = (dimension: 256 | 512) =>
      defineWorkflow({
        name: `w${dimension}`,
        description: 'd',
        input,
        steps: [
          agent('s', {
            agent: defineAgent({
              name: 'a',
              model: 'claude-haiku-4-5',
              system: 's',
              tools: [],
              knowledge: { source: defineKnowledge({ name: 'faq', dimension }) },
            }),
            prompt: () => 'p',
          }),
        ],
      });
    expect(() => knowledgeSourcesOf([mk(256), mk(512)])).toThrow(
      /knowledge source "faq": declared twice with different settings/,
    );
  });
});
