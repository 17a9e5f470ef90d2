import { describe, expect, it } from 'vitest';
import { ConfigError, parseRateLimit, TokenBucket } from '../../src';

describe('task/rate-limit parseRateLimit', () => {
  it('parses per second, minute and hour', () => {
    expect(parseRateLimit('10/s')).toBe(10);
    expect(parseRateLimit('100/m')).toBeCloseTo(100 / 60, 12);
    expect(parseRateLimit('1000/h')).toBeCloseTo(1000 / 3600, 12);
    expect(parseRateLimit('2.5/s')).toBe(2.5);
    expect(parseRateLimit(' 3 / m ')).toBeCloseTo(0.05, 12);
  });

  it('reads a bare number as per second', () => {
    expect(parseRateLimit('7')).toBe(7);
    expect(parseRateLimit(7)).toBe(7);
  });

  it('returns null for no limit', () => {
    expect(parseRateLimit(null)).toBeNull();
    expect(parseRateLimit(undefined)).toBeNull();
    expect(parseRateLimit('')).toBeNull();
    expect(parseRateLimit(0)).toBeNull();
    expect(parseRateLimit('0/s')).toBeNull();
  });

  it.each(['abc', '10/x', '10/', '/s', '-1/s', '10 per second', '1e3/s'])('rejects %j', (bad) => {
    expect(() => parseRateLimit(bad)).toThrow(ConfigError);
  });

  it('rejects negative and non-finite numbers', () => {
    expect(() => parseRateLimit(-1)).toThrow(ConfigError);
    expect(() => parseRateLimit(Infinity)).toThrow(ConfigError);
    expect(() => parseRateLimit(NaN)).toThrow(ConfigError);
  });
});

describe('task/rate-limit TokenBucket', () => {
  function clock() {
    let t = 1000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  }

  it('lets the first task through and spaces the next ones 1/rate apart', () => {
    const c = clock();
    const b = new TokenBucket(5, c.now);
    expect(b.take()).toBe(0);
    expect(b.take()).toBe(200);
    c.advance(100);
    expect(b.take()).toBe(100);
    c.advance(100);
    expect(b.take()).toBe(0);
    expect(b.take()).toBe(200);
  });

  it('does not bank tokens beyond one (no bursts after idling)', () => {
    const c = clock();
    const b = new TokenBucket(10, c.now);
    c.advance(60_000);
    expect(b.take()).toBe(0);
    expect(b.take()).toBe(100);
  });

  it('spaces 10/m six seconds apart, and follows a new rate', () => {
    const c = clock();
    const b = new TokenBucket(parseRateLimit('10/m')!, c.now);
    expect(b.take()).toBe(0);
    expect(b.take()).toBe(6000);
    c.advance(6000);
    expect(b.take()).toBe(0);
    b.setRate(100);
    c.advance(5);
    expect(b.take()).toBe(5);
  });
});
