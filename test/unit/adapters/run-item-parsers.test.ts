import { describe, expect, it } from 'vitest';
import {
  CorruptItemError,
  parseClaim,
  parseOpenReservations,
} from '../../../lambdas/adapters/run-item-parsers.js';

describe('claim records read back from DynamoDB', () => {
  it('reads an acting claim and a done one', () => {
    expect(parseClaim({ sk: 'CLAIM#tool#a#t1', key: 'tool#a#t1', state: 'acting', attempts: 2 })).toEqual({
      key: 'tool#a#t1',
      state: 'acting',
      attempts: 2,
    });
    expect(
      parseClaim({
        sk: 'CLAIM#model#a#000001',
        key: 'model#a#000001',
        state: 'done',
        attempts: 0,
        result: { kind: 'final' },
      }),
    ).toMatchObject({ state: 'done', result: { kind: 'final' } });
  });

  it('refuses a claim of an unknown shape by name, naming the record and the field', () => {
    expect(() =>
      parseClaim({ sk: 'CLAIM#tool#a#t1', key: 'tool#a#t1', state: 'maybe', attempts: 1 }),
    ).toThrow(new CorruptItemError('claim CLAIM#tool#a#t1: state "maybe" is not one of acting, done'));
    expect(() => parseClaim({ sk: 'CLAIM#tool#a#t1', key: 'tool#a#t1', state: 'done', attempts: 1 })).toThrow(
      /done without a result/,
    );
    expect(() => parseClaim({ sk: 'CLAIM#x', key: 'x', state: 'acting', attempts: 'two' })).toThrow(
      /attempts must be a number/,
    );
  });

  it('reads the reservations a ledger holds, and refuses a damaged one', () => {
    expect(
      parseOpenReservations({ open: { k: { tokens: 10, costMicros: 2, steps: 1, caps: ['c'] } } }),
    ).toEqual({
      k: { tokens: 10, costMicros: 2, steps: 1, caps: ['c'] },
    });
    expect(parseOpenReservations({})).toEqual({});
    expect(() => parseOpenReservations({ open: { k: { tokens: 'many' } } })).toThrow(CorruptItemError);
  });
});
