import { ConfigError } from '../errors';

/**
 * Parses Celery rate limits: `'10/s'`, `'100/m'`, `'1000/h'`, or a bare number (per second). Returns tasks
 * per second, or null for no limit (`null`, `undefined`, `0`, `'0'`).
 */
export function parseRateLimit(limit: string | number | null | undefined): number | null {
  if (limit === null || limit === undefined || limit === '') return null;
  if (typeof limit === 'number') {
    if (!Number.isFinite(limit) || limit < 0) throw new ConfigError(`rate limit must be >= 0, got ${limit}`);
    return limit === 0 ? null : limit;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*([smh]))?\s*$/.exec(limit);
  if (!m) throw new ConfigError(`rate limit ${JSON.stringify(limit)} is not of the form N/s, N/m or N/h`);
  const n = Number(m[1]);
  if (n === 0) return null;
  const per = m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1;
  return n / per;
}

/**
 * A token bucket per task name, per worker (Celery's semantics). Capacity 1 so that `10/m` spaces tasks six
 * seconds apart, as Celery does, rather than letting a burst of ten through.
 */
export class TokenBucket {
  private tokens = 1;
  private last: number;
  constructor(
    private ratePerSec: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.last = now();
  }

  setRate(ratePerSec: number): void {
    this.ratePerSec = ratePerSec;
  }

  /** Takes a token and returns 0, or returns how many milliseconds until one is available. */
  take(): number {
    const t = this.now();
    this.tokens = Math.min(1, this.tokens + ((t - this.last) / 1000) * this.ratePerSec);
    this.last = t;
    if (this.tokens >= 1 - 1e-9) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.ratePerSec) * 1000);
  }
}
