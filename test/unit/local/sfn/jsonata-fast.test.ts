import jsonata from 'jsonata';
import { describe, expect, it } from 'vitest';
import { compileFast, FALLBACK, type FastScope } from '../../../../local/sfn/jsonata-fast.js';

/**
 * The synchronous evaluator must give jsonata's own value wherever it answers
 * at all, and must answer for the expressions the compiled workflows evaluate
 * on every transition (or it saves nothing). Every expression below is run on
 * every scope, chosen to cross each boundary the evaluator draws (arrays where
 * a path would map, singletons, null, missing fields, strings against
 * numbers, non-boolean conditions, shadowed functions, array inputs), plus
 * seeded random scopes; each answer is compared with jsonata's.
 */
const WORKFLOW_EXPRESSIONS = [
  '$states.result.Payload',
  '$runId',
  `$merge([{ "runId": $runId, "step": "loop", "iteration": $step + 1 }, $states.input.kind = 'toolResults' ? { "results": $states.input.results } : {}])`,
  '$states.result.Payload.passThrough = true ? $step : $step + 1',
  "$states.input.kind = 'stop'",
  '$step >= 50',
  "$states.input.kind = 'tools' and $count($states.input.calls) = 1",
  '$states.input.calls[0].timeoutSeconds',
  '$states.input.calls[0]',
  '{ "kind": "toolResults", "results": [$states.result.Payload] }',
  '$states.input.runId',
  '$states.context.State.RetryCount',
];

const EDGE_EXPRESSIONS = [
  'kind',
  'calls[1]',
  'a.b.c',
  '$x',
  '$x.y',
  '$x[0]',
  '$x = $y',
  '$x != $y',
  '$states.input.kind = $states.result.Payload.kind',
  'kind != y',
  '$x < $y',
  '$x <= $y',
  '$x > 2',
  '$x - 1',
  '$x * 2',
  '$x and $y',
  '$x or $y',
  '$x ? "yes" : "no"',
  '$x ? "yes"',
  '[$x, $y]',
  '{ "a": $x, "b": $y }',
  '$count($x)',
  '$merge($x)',
  '$merge([$x, $y])',
  'null',
  'true',
  '"text"',
  '3.5',
  '$states.input',
  '$states.input.calls',
  '$states.input.results[0].content',
];

/** Scopes that cross every boundary: arrays, singletons, null, missing, strings for numbers, shadowing. */
const SCOPES: FastScope[] = [
  {
    states: {
      input: {
        kind: 'tools',
        runId: 'r1',
        calls: [{ toolUseId: 't1', timeoutSeconds: 30 }],
        results: [{ content: 'c' }],
      },
      result: { Payload: { kind: 'final', passThrough: false } },
      context: { State: { Name: 'Tool', RetryCount: 0 } },
    },
    variables: { runId: 'r1', step: 3, x: 1, y: 2 },
    input: undefined,
  },
  {
    states: {
      input: { kind: 'toolResults', results: [], calls: [] },
      result: { Payload: { passThrough: true } },
    },
    variables: { runId: 'r2', step: 49, x: 'a', y: 'b' },
    input: undefined,
  },
  {
    states: { input: { kind: 'tools', calls: [{ a: 1 }, { a: 2 }] }, result: { Payload: [1, 2] } },
    variables: { runId: 'r3', step: '7', x: [1, 2], y: [1, 2] },
    input: undefined,
  },
  {
    states: { input: { kind: null, calls: 'not an array' }, result: { Payload: null } },
    variables: { runId: null, step: null, x: null, y: true },
    input: undefined,
  },
  {
    states: { input: [{ kind: 'tools' }, { kind: 'stop' }], result: {} },
    variables: { step: 1, x: { y: [5] }, y: { a: 1 } },
    input: undefined,
  },
  {
    states: { input: { calls: [[1, 2], [3]], results: [{ content: [1] }] } },
    variables: { runId: 'r6', step: 1.5, x: true, y: false, count: 'shadowed', merge: 'shadowed' },
    input: undefined,
  },
  {
    states: { input: { a: { b: { c: [7] } } } },
    variables: { x: [{ a: 1 }, { b: 2 }], y: 0 },
    input: undefined,
  },
];
for (const s of SCOPES) s.input = s.states.input;

/** Step Functions' bindings as `jsonata-eval.ts` builds them (the functions left out: none is used here). */
async function jsonataValue(text: string, scope: FastScope): Promise<{ value?: unknown; error?: string }> {
  try {
    const value = await jsonata(text).evaluate(scope.input, { ...scope.variables, states: scope.states });
    return { value: value === undefined ? undefined : JSON.parse(JSON.stringify(value)) };
  } catch (err) {
    return { error: String((err as { message?: unknown }).message ?? err) };
  }
}

/** A seeded source of JSON values of every kind the evaluator distinguishes. */
function randomValues(seed: number): () => unknown {
  let t = seed >>> 0;
  const next = () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), t | 1);
    r ^= r + Math.imul(r ^ (r >>> 7), r | 61);
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const value = (depth: number): unknown => {
    const kind = pick(['n', 's', 'b', 'null', 'arr', 'obj', 'undef']);
    if (kind === 'n') return pick([0, 1, 2, 49, 50, -3, 1.5]);
    if (kind === 's') return pick(['tools', 'stop', 'toolResults', 'a', '']);
    if (kind === 'b') return next() < 0.5;
    if (kind === 'null') return null;
    if (kind === 'undef' || depth > 2) return undefined;
    if (kind === 'arr') return Array.from({ length: pick([0, 1, 2]) }, () => value(depth + 1));
    const o: Record<string, unknown> = {};
    for (const k of ['kind', 'calls', 'results', 'timeoutSeconds', 'passThrough', 'Payload', 'y', 'content'])
      if (next() < 0.4) {
        const v = value(depth + 1);
        if (v !== undefined) o[k] = v;
      }
    return o;
  };
  return () => value(0);
}

function randomScope(gen: () => unknown): FastScope {
  const obj = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});
  const input = gen();
  const states = { input, result: { Payload: gen() } };
  const variables: Record<string, unknown> = {};
  for (const k of ['runId', 'step', 'x', 'y']) {
    const v = gen();
    if (v !== undefined) variables[k] = v;
  }
  return { states: obj(states) as Record<string, unknown>, variables, input };
}

describe('the synchronous JSONata evaluator', () => {
  it("answers each workflow expression on a workflow's own inputs, with jsonata's value", async () => {
    for (const text of WORKFLOW_EXPRESSIONS) {
      const fast = compileFast(jsonata(text).ast());
      expect(fast, `${text} compiles`).toBeDefined();
      const scope = SCOPES[0] as FastScope;
      const answer = fast?.(scope);
      expect(answer, `${text} is answered without jsonata`).not.toBe(FALLBACK);
      expect(JSON.parse(JSON.stringify(answer ?? null))).toEqual(
        (await jsonataValue(text, scope)).value ?? null,
      );
    }
  });

  it("gives jsonata's value wherever it answers, on every scope, and never answers where jsonata fails", async () => {
    let answered = 0;
    let given = 0;
    const gen = randomValues(20261203);
    const scopes = [...SCOPES, ...Array.from({ length: 300 }, () => randomScope(gen))];
    for (const text of [...WORKFLOW_EXPRESSIONS, ...EDGE_EXPRESSIONS]) {
      const fast = compileFast(jsonata(text).ast());
      if (!fast) continue;
      for (const scope of scopes) {
        const answer = fast(scope);
        if (answer === FALLBACK) {
          given += 1;
          continue;
        }
        answered += 1;
        const expected = await jsonataValue(text, scope);
        const what = `${text} on ${JSON.stringify(scope)}`;
        expect(expected.error, `${what}: jsonata fails, the evaluator answered`).toBeUndefined();
        expect(answer === undefined ? undefined : JSON.parse(JSON.stringify(answer)), what).toEqual(
          expected.value,
        );
      }
    }
    // Both sides of the boundary are exercised.
    expect(answered).toBeGreaterThan(2000);
    expect(given).toBeGreaterThan(500);
  });

  it('gives up where jsonata maps, groups, flattens or casts', () => {
    const scope = (input: unknown, variables: Record<string, unknown> = {}): FastScope => ({
      states: { input },
      variables,
      input,
    });
    const cases: Array<[string, FastScope]> = [
      ['a.b', scope({ a: [{ b: 1 }, { b: 2 }] })],
      ['{ "k": a }', scope([{ a: 1 }, { a: 2 }])],
      ['[$x]', scope({}, { x: [1, 2] })],
      ['$x ? 1 : 2', scope({}, { x: 'non-empty' })],
      ['$x + 1', scope({}, { x: '1' })],
      ['$count($x)', scope({}, { x: [1], count: 'mine' })],
      ['$missing', scope({})],
      ['$states.input[0]', scope({ not: 'an array' })],
      ['$x = $y', scope({}, { x: [1], y: [1] })],
    ];
    for (const [text, s] of cases) expect(compileFast(jsonata(text).ast())?.(s), text).toBe(FALLBACK);
  });

  it('does not compile what it does not handle', () => {
    for (const text of [
      '$uuid()',
      '$now()',
      '$string(1)',
      'a[b > 1]',
      '$x.$y',
      '(1; 2)',
      '$exists(a)',
      'a.*',
    ])
      expect(compileFast(jsonata(text).ast()), text).toBeUndefined();
  });
});
