import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src';

describe('task/retry backoffDelay', () => {
  const noJitter = { retryBackoff: true, retryBackoffMax: 600, retryJitter: false } as const;

  it('doubles from 1 s without jitter', () => {
    expect([0, 1, 2, 3, 4, 5].map((r) => backoffDelay(r, noJitter))).toEqual([1, 2, 4, 8, 16, 32]);
  });

  it('uses a numeric factor', () => {
    expect([0, 1, 2].map((r) => backoffDelay(r, { ...noJitter, retryBackoff: 3 }))).toEqual([3, 6, 12]);
  });

  it('caps at retryBackoffMax', () => {
    expect(backoffDelay(10, noJitter)).toBe(600);
    expect(backoffDelay(4, { ...noJitter, retryBackoffMax: 10 })).toBe(10);
    expect(backoffDelay(60, noJitter)).toBe(600);
  });

  it('is 0 when backoff is off', () => {
    expect(backoffDelay(3, { ...noJitter, retryBackoff: false })).toBe(0);
  });

  it('with jitter picks a whole number in [0, countdown]', () => {
    const opts = { retryBackoff: true, retryBackoffMax: 600, retryJitter: true };
    expect(backoffDelay(3, opts, () => 0)).toBe(0);
    expect(backoffDelay(3, opts, () => 0.999999)).toBe(8);
    expect(backoffDelay(3, opts, () => 0.5)).toBe(4);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const d = backoffDelay(3, opts);
      expect(Number.isInteger(d)).toBe(true);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(8);
      seen.add(d);
    }
    // Uniform over 0..8: 2000 draws miss a value with negligible probability.
    expect(seen.size).toBe(9);
  });

  it('with jitter and a fractional factor stays within [0, countdown]', () => {
    const opts = { retryBackoff: 0.5, retryBackoffMax: 600, retryJitter: true };
    for (const r of [0, 0.3, 0.6, 0.999999]) {
      const d = backoffDelay(0, opts, () => r);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(0.5);
    }
    expect(backoffDelay(1, opts, () => 0.999999)).toBeLessThanOrEqual(1);
    expect(backoffDelay(2, { ...opts, retryBackoffMax: 1.5 }, () => 0.999999)).toBeLessThanOrEqual(1.5);
  });
});
