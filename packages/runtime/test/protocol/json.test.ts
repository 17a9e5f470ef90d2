import { describe, expect, it } from 'vitest';
import { EncodeError, encodeJson, toJsonValue } from '../../src';

class User {
  constructor(readonly name: string) {}
}

function encodeError(value: unknown): EncodeError {
  try {
    encodeJson(value, 'result');
  } catch (err) {
    expect(err).toBeInstanceOf(EncodeError);
    return err as EncodeError;
  }
  throw new Error('expected EncodeError, but the value was encoded');
}

describe('protocol/json encodeJson', () => {
  it('names a class instance by path and class', () => {
    const err = encodeError({ user: new User('ada') });
    expect(err.message).toBe('result.user: instance of class User');
    expect(err.path).toBe('result.user');
    expect(err.code).toBe('ENCODE_ERROR');
    expect(err.excModule).toBe('kombu.exceptions');
  });

  it('rejects bigint', () => {
    expect(encodeError({ n: 10n }).message).toBe('result.n: bigint');
  });

  it('rejects a cycle at the path where the value contains itself', () => {
    const root: { a: { b?: unknown } } = { a: {} };
    root.a.b = root;
    const err = encodeError(root);
    expect(err.path).toBe('result.a.b');
    expect(err.message).toMatch(/^result\.a\.b: cycle/);
  });

  it('rejects NaN and infinities', () => {
    expect(encodeError({ x: NaN }).message).toBe('result.x: NaN is not a JSON number');
    expect(encodeError([1, Infinity]).message).toBe('result[1]: Infinity is not a JSON number');
  });

  it('rejects functions, symbols and Maps', () => {
    expect(encodeError({ f: function callback() {} }).message).toBe('result.f: function callback');
    expect(encodeError({ s: Symbol('x') }).message).toBe('result.s: symbol');
    expect(encodeError({ m: new Map([['a', 1]]) }).message).toBe('result.m: instance of class Map');
  });

  it('quotes keys that are not identifiers in the path', () => {
    expect(encodeError({ 'a-b': [0, { c: 1n }] }).message).toBe('result["a-b"][1].c: bigint');
  });

  it('encodes a Date as ISO-8601 UTC with Z, and rejects an invalid Date', () => {
    const d = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 123));
    expect(encodeJson({ at: d }, 'result')).toBe('{"at":"2024-01-02T03:04:05.123Z"}');
    expect(encodeError({ at: new Date('nope') }).message).toBe('result.at: invalid Date');
  });

  it('encodes objects with toJSON as what toJSON returns, and checks that too', () => {
    class Money {
      constructor(readonly cents: number) {}
      toJSON() {
        return { amount: this.cents / 100, currency: 'EUR' };
      }
    }
    expect(encodeJson([new Money(1050)], 'result')).toBe('[{"amount":10.5,"currency":"EUR"}]');
    class Bad {
      toJSON() {
        return { n: 1n };
      }
    }
    expect(encodeError({ v: new Bad() }).message).toBe('result.v.n: bigint');
  });

  it('allows the same object twice when it is not a cycle', () => {
    const shared = { k: 1 };
    expect(encodeJson({ a: shared, b: [shared, shared] }, 'result')).toBe(
      '{"a":{"k":1},"b":[{"k":1},{"k":1}]}',
    );
  });

  it('drops undefined properties and turns undefined items and values into null', () => {
    expect(encodeJson({ a: undefined, b: [undefined, 1] }, 'result')).toBe('{"b":[null,1]}');
    expect(toJsonValue(undefined, 'result')).toBeNull();
  });

  it('accepts objects with a null prototype', () => {
    const o = Object.create(null) as Record<string, unknown>;
    o.x = 1;
    expect(encodeJson(o, 'result')).toBe('{"x":1}');
  });
});
