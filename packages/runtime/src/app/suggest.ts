/**
 * "Did you mean": the known option closest to a misspelt one, so a typo is refused with the fix in the
 * message instead of silently dropped. Celery's names (`result_backend`, `task_default_queue`) are known
 * aliases of ours, since people bring their Celery configuration with them.
 */

/** Edit distance (insertions, deletions, substitutions), case-insensitive. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[y.length]!;
}

/** `visibility_timeout`, `Visibility-Timeout` and `visibilityTimeout` all read `visibilitytimeout`. */
const squash = (s: string) => s.toLowerCase().replace(/[_\-\s]/g, '');

/**
 * The known key the unknown one most likely meant, or null when none is close. `aliases` maps other
 * spellings (Celery's setting names) to a known key.
 */
export function closestKey(
  unknown: string,
  known: readonly string[],
  aliases: Readonly<Record<string, string>> = {},
): string | null {
  const u = squash(unknown);
  for (const k of known) if (squash(k) === u) return k;
  for (const [alias, k] of Object.entries(aliases)) if (squash(alias) === u) return k;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = distance(u, squash(k));
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  // Close enough to be a typo: at most a third of the word (and at least one edit) apart.
  return best !== null && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : null;
}

/** `unknown option taskDefaults.maxRetry (did you mean taskDefaults.maxRetries?)`. */
export function unknownKeyMessage(
  what: string,
  path: readonly (string | number)[],
  key: string,
  known: readonly string[],
  aliases?: Readonly<Record<string, string>>,
): string {
  const at = [...path.map(String), ''].join('.');
  const guess = closestKey(key, known, aliases);
  return `unknown ${what} ${at}${key}${guess ? ` (did you mean ${at}${guess}?)` : ''}`;
}

/**
 * A failed zod check of an options object as one line, its first issue named: `<what>: unknown option countdwn
 * (did you mean countdown?)` or `<what>: option priority <zod's message>`.
 */
export function optionIssueMessage(
  what: string,
  issue: { code: string; path: readonly PropertyKey[]; message: string; keys?: readonly string[] },
  known: readonly string[],
  aliases?: Readonly<Record<string, string>>,
): string {
  return issue.code === 'unrecognized_keys' && issue.keys?.[0] !== undefined
    ? `${what}: ${unknownKeyMessage('option', [], issue.keys[0], known, aliases)}`
    : `${what}: option ${issue.path.map(String).join('.')} ${issue.message}`;
}
