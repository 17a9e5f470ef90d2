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
    const cut = (full: string) => `${full.slice(0, 1021)}...`;
    expect(out).toBe(cut(`('${'x'.repeat(5000)}',)`));
    expect(kwargsRepr({ k: 'y'.repeat(4 << 20) })).toBe(cut(`{'k': '${'y'.repeat(5000)}'}`));
  });

  it('builds a repr no further than the cut: what lies beyond is never read', () => {
    const big: unknown[] = new Array<number>(1_000_000).fill(7);
    Object.defineProperty(big, 999_999, {
      get() {
        throw new Error('read past the cut');
      },
    });
    expect(argsRepr([big])).toBe(`([${new Array(1000).fill(7).join(', ')}`.slice(0, 1021) + '...');
    expect(kwargsRepr({ big })).toHaveLength(1024);
  });
});
