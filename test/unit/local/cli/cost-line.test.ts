import { describe, expect, it } from 'vitest';
import { costLine, type RunView } from '../../../../local/cli/print.js';

const run = (guardrails?: { classifications: number; textUnits: number }, usd = 0): RunView => ({
  runId: 'r1',
  status: 'SUCCEEDED',
  cost: {
    usd: {
      model: 0.01,
      guardrails: usd,
      stepFunctions: 0.0002,
      lambda: 0.0003,
      dynamodb: 0.00004,
      s3: 0,
      total: 0.0105,
    },
    usage: {
      ...(guardrails ? { guardrails } : {}),
      lambda: { requests: 4, billedMs: 900, gbSeconds: 0.9 },
      dynamodb: { requests: 12, readUnits: 5, writeUnits: 30 },
      stepFunctions: { transitions: 8, historyEvents: 30 },
    },
    region: 'us-east-1',
  },
});

describe('chaperone runs cost: the one line', () => {
  it('names Bedrock Guardrails with its classifications and text units when the run used it', () => {
    const line = costLine(run({ classifications: 4, textUnits: 7 }, 0.00105)) ?? '';
    expect(line).toContain(
      'model $0.010000 · Bedrock Guardrails $0.001050 (4 classifications, 7 text units) ·',
    );
    expect(line).toMatch(/^\$0\.010500 — /);
  });

  it('leaves Bedrock Guardrails out when the run never classified anything', () => {
    expect(costLine(run({ classifications: 0, textUnits: 0 })) ?? '').not.toContain('Guardrails');
    expect(costLine(run()) ?? '').not.toContain('Guardrails');
  });
});
