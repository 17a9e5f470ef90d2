/** ISO-8601 timestamps as Celery writes and reads them. */

/** `2026-11-24T00:39:11.610000+00:00`: the offset form Celery puts in `eta`/`expires` headers. */
export function toCeleryIso(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

/** Naive UTC `isoformat()` without offset, Celery's `date_done`. */
export function toNaiveUtcIso(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000');
}

/**
 * Parses an ISO-8601 header value. A naive value (no offset) is UTC, as Celery treats it. Returns null for
 * null/undefined; throws on a value that is not a date so the caller can reject the message with a reason.
 */
export function parseIsoDate(value: unknown, field: string): Date | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw new TypeError(`header ${field} must be an ISO-8601 string`);
  let text = value.trim();
  // Python writes microseconds; JS Date parses at most milliseconds reliably.
  text = text.replace(/(\.\d{3})\d+/, '$1');
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(text) && /T/.test(text)) text += 'Z';
  const ms = Date.parse(text);
  if (Number.isNaN(ms))
    throw new TypeError(`header ${field} is not an ISO-8601 date: ${JSON.stringify(value)}`);
  return new Date(ms);
}
