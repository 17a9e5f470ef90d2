/** A problem with how the worker was invoked: printed as one `lovage: error: …` line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An error's message on one line, for `lovage: error:` output. */
export function oneLine(err: unknown): string {
  const text =
    err instanceof Error
      ? err.name && err.name !== 'Error'
        ? `${err.name}: ${err.message}`
        : err.message
      : String(err);
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
