import { describe, expect, it } from 'vitest';
import { StatesError } from '../../../../local/sfn/errors.js';
import {
  applyInputOutputPath,
  queryPath,
  queryPathForField,
  tryQueryPath,
} from '../../../../local/sfn/jsonpath/index.js';

const input = {
  a: { b: [10, 20, 30], 'int-literal': 0, nested: { x: 1 } },
  items: [
    { id: 'i1', price: 5, tags: ['x'] },
    { id: 'i2', price: 15, tags: [] },
    { id: 'i3', price: 25 },
  ],
  nul: null,
  'my key': 'spaced',
};
const context = { Execution: { Id: 'arn:exec', Input: { q: 1 } }, State: { Name: 'S' } };
const variables = { myVar: { x: { y: 'deep' } }, count: 3 };
const q = (path: string) => queryPath(path, input, context, variables);

function statesError(fn: () => unknown): StatesError {
  try {
    fn();
  } catch (e) {
    if (e instanceof StatesError) return e;
    throw e;
  }
  throw new Error('expected a StatesError');
}

describe('queryPath: definite paths', () => {
  it('reads the input, context object and variables', () => {
    expect(q('$')).toBe(input);
    expect(q('$.a.b[0]')).toBe(10);
    expect(q('$.a.b[-1]')).toBe(30);
    expect(q("$['a']['int-literal']")).toBe(0);
    expect(q('$.a.int-literal')).toBe(0);
    expect(q("$['my key']")).toBe('spaced');
    expect(q('$.nul')).toBeNull();
    expect(q('$$.Execution.Id')).toBe('arn:exec');
    expect(q('$$')).toBe(context);
    expect(q('$myVar.x.y')).toBe('deep');
    expect(q('$count')).toBe(3);
  });

  it('fails with AWS-worded States.Runtime errors', () => {
    const leaf = statesError(() => q('$.NoSuchInputPath'));
    expect(leaf.error).toBe('States.Runtime');
    expect(leaf.causeText).toBe(
      "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']",
    );
    expect(statesError(() => q('$.no.such.result.path')).causeText).toBe(
      "Invalid path '$.no.such.result.path' : Missing property in path $['no']",
    );
    expect(statesError(() => q('$.a.b[7]')).causeText).toBe(
      "Invalid path '$.a.b[7]' : No results for path: $['a']['b'][7]",
    );
    expect(statesError(() => q('$.a.b.c')).causeText).toBe(
      "Invalid path '$.a.b.c' : Expected to find an object with property ['c'] in path $['a']['b'] but found 'java.util.ArrayList'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JacksonJsonProvider'.",
    );
    expect(statesError(() => q('$.nul[0]')).causeText).toBe(
      "Invalid path '$.nul[0]' : The path $['nul'] is null",
    );
    expect(statesError(() => q('$undefinedVar')).error).toBe('States.Runtime');
    expect(statesError(() => q('$.a[')).error).toBe('States.Runtime');
  });

  it('names the field in payload-template style errors', () => {
    const e = statesError(() =>
      queryPathForField('$.no_such_jsonpath', 'value.$', { 'int-literal': 0 }, {}, {}),
    );
    expect(e.causeText).toBe(
      "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{\"int-literal\":0}'",
    );
  });

  it('tryQueryPath reports presence without throwing', () => {
    expect(tryQueryPath('$.nul', input, context, variables)).toEqual({ found: true, value: null });
    expect(tryQueryPath('$.missing', input, context, variables).found).toBe(false);
  });
});

describe('queryPath: indefinite paths return arrays', () => {
  it('wildcards, slices, unions', () => {
    expect(q('$.items[*].id')).toEqual(['i1', 'i2', 'i3']);
    expect(q('$.a.b[1:]')).toEqual([20, 30]);
    expect(q('$.a.b[:1]')).toEqual([10]);
    expect(q('$.a.b[-2:]')).toEqual([20, 30]);
    expect(q('$.a.b[0,2]')).toEqual([10, 30]);
    expect(q("$.items[0]['id','price']")).toEqual(['i1', 5]);
    expect(q('$.a.nested.*')).toEqual([1]);
  });

  it('recursive descent', () => {
    expect(q('$..id')).toEqual(['i1', 'i2', 'i3']);
    expect(queryPath('$..x', { x: 1, y: { x: 2, z: [{ x: 3 }] } }, {}, {})).toEqual([1, 2, 3]);
  });

  it('filters', () => {
    expect(q('$.items[?(@.price > 10)].id')).toEqual(['i2', 'i3']);
    expect(q("$.items[?(@.id == 'i1')].price")).toEqual([5]);
    expect(q('$.items[?(@.tags)].id')).toEqual(['i1', 'i2']);
    expect(q('$.items[?(!@.tags)].id')).toEqual(['i3']);
    expect(q('$.items[?(@.price >= 5 && @.price < 25)].id')).toEqual(['i1', 'i2']);
    expect(q("$.items[?(@.id == 'i1' || @.price == 25)].id")).toEqual(['i1', 'i3']);
    expect(q('$.items[?(@.id =~ /i[12]/)].id')).toEqual(['i1', 'i2']);
    expect(q("$.items[?(@.id in ['i2','i3'])].price")).toEqual([15, 25]);
    expect(q('$.items[?(@.price < $count)].id')).toEqual([]);
    expect(q('$.items[?(@.price > $count + 7)].id')).toEqual(['i2', 'i3']);
    expect(q('$.items[(@.length-1)].id')).toBe('i3');
    expect(queryPath('$.users[?(@.status == 0)]', { users: [{ status: 0 }, { status: 1 }] }, {}, {})).toEqual(
      [{ status: 0 }],
    );
  });

  it('yields [] when nothing matches (recorded AWS behaviour)', () => {
    expect(queryPath('$.items[*]', {}, {}, {})).toEqual([]);
    expect(queryPath('$.item.items[1:5].itemValue', {}, {}, {})).toEqual([]);
  });

  it('keeps backslashes in bracket names unless they escape the quote (recorded)', () => {
    expect(queryPath(`$['Test\\""Name"']`, { 'Test\\""Name"': 'v' }, {}, {})).toBe('v');
    expect(queryPath("$['it\\'s']", { "it's": 1 }, {}, {})).toBe(1);
  });
});

describe('applyInputOutputPath', () => {
  it('undefined passes through, null gives {}, paths query', () => {
    expect(applyInputOutputPath(input, undefined, context, variables)).toBe(input);
    expect(applyInputOutputPath(input, null, context, variables)).toEqual({});
    expect(applyInputOutputPath(input, '$.a.nested', context, variables)).toEqual({ x: 1 });
    expect(applyInputOutputPath(input, '$$.State', context, variables)).toEqual({ Name: 'S' });
  });
});
