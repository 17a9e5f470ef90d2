/**
 * Retry delays, following Celery's `retry_backoff`, `retry_backoff_max` and `retry_jitter`
 * (celery/utils/time.py get_exponential_backoff_interval).
 */
export interface BackoffOptions {
  /** Base delay factor in seconds; `true` means 1. Celery: retry_backoff. */
  retryBackoff: boolean | number;
  /** Cap in seconds. Celery: retry_backoff_max (600). */
  retryBackoffMax: number;
  /** Randomize the delay between 0 and the computed value. Celery: retry_jitter (true). */
  retryJitter: boolean;
}

export function backoffDelay(
  retries: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const factor = opts.retryBackoff === true ? 1 : Number(opts.retryBackoff) || 0;
  const countdown = Math.min(opts.retryBackoffMax, factor * 2 ** retries);
  if (!opts.retryJitter) return countdown;
  // Celery's randrange(countdown + 1) for whole seconds; a fractional factor (which Celery does not take)
  // would let that exceed the countdown, so it draws uniformly in [0, countdown] instead.
  return Number.isInteger(countdown) ? Math.floor(random() * (countdown + 1)) : random() * countdown;
}
