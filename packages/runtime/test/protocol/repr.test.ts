import { describe, expect, it } from 'vitest';
import { argsRepr, kwargsRepr, pyRepr } from '../../src';

describe('protocol/repr', () => {
  it('writes positional arguments as a Python tuple', () => {
    expect(argsRepr([])).toBe('()');
    expect(argsRepr([2])).toBe('(2,)');
    expect(argsRepr([1, 'a', null])).toBe("(1, 'a', None)");
    expect(argsRepr([[1, 2], { k: true }])).toBe("([1, 2], {'k': True})");
  });

  it('writes keyword arguments as a Python dict', () => {
    expect(kwargsRepr({})).toBe('{}');
    expect(kwargsRepr({ y: 3 })).toBe("{'y': 3}");
    expect(kwargsRepr({ a: 'x', b: [false, null] })).toBe("{'a': 'x', 'b': [False, None]}");
  });

  it('writes None, True, False, floats and special numbers as Python does', () => {
    expect(pyRepr(null)).toBe('None');
    expect(pyRepr(undefined)).toBe('None');
    expect(pyRepr(true)).toBe('True');
    expect(pyRepr(false)).toBe('False');
    expect(pyRepr(1.5)).toBe('1.5');
    expect(pyRepr(NaN)).toBe('nan');
    expect(pyRepr(-Infinity)).toBe('-inf');
  });

  it('quotes strings like Python repr', () => {
    expect(pyRepr('abc')).toBe("'abc'");
    expect(pyRepr("it's")).toBe(`"it's"`);
    expect(pyRepr(`it's "x"`)).toBe(`'it\\'s "x"'`);
    expect(pyRepr('a\nb\t\\')).toBe("'a\\nb\\t\\\\'");
    expect(pyRepr('\x01')).toBe("'\\x01'");
  });

  it('cuts long reprs to 1024 characters', () => {
    const out = argsRepr(['x'.repeat(5000)]);
    expect(out).toHaveLength(1024);
    expect(out.endsWith('...')).toBe(true);
  });
});
