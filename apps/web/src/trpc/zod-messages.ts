/**
 * What a failed check says, in the console's words, wherever a zod schema is used (the server's procedures,
 * the forms' resolvers): a predicate after the field's name, "must be at most 100", never zod's defaults
 * ("Invalid input: expected number, received NaN"). A message a schema gives itself wins. Importing this
 * module installs the messages (server/trpc/init.ts and trpc/react.tsx do); `fieldLabel` names a field.
 */
import { z } from 'zod';
import { plural } from '../components/plural';

const KINDS: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'text',
  boolean: 'yes or no',
  array: 'a list',
  object: 'a set of fields',
  date: 'a date',
};

type Issue = Parameters<NonNullable<z.core.$ZodConfig['customError']>>[0];

function sizeOf(origin: unknown, n: number | bigint): string {
  if (origin === 'string') return plural(Number(n), 'character');
  if (origin === 'array' || origin === 'set') return plural(Number(n), 'item');
  return String(n);
}

/** The console's message for an issue, or undefined for zod's own (codes it does not word). */
export function issueMessage(issue: Issue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined || issue.input === null) return 'is required';
      return `must be ${KINDS[issue.expected] ?? issue.expected}`;
    case 'too_small':
      if (issue.origin === 'string' && Number(issue.minimum) === 1) return 'is required';
      return issue.inclusive === false
        ? `must be more than ${sizeOf(issue.origin, issue.minimum)}`
        : `must be at least ${sizeOf(issue.origin, issue.minimum)}`;
    case 'too_big':
      return issue.inclusive === false
        ? `must be less than ${sizeOf(issue.origin, issue.maximum)}`
        : `must be at most ${sizeOf(issue.origin, issue.maximum)}`;
    case 'invalid_format':
      if (issue.format === 'email') return 'must be an e-mail address';
      if (issue.format === 'url') return 'must be a URL';
      if (issue.format === 'regex') return 'is not in the expected form';
      return `must be a valid ${issue.format}`;
    case 'invalid_value':
      return issue.values.length === 1
        ? `must be ${String(issue.values[0])}`
        : `must be one of ${issue.values.map(String).join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'unrecognized_keys':
      return `has fields it does not know: ${issue.keys.join(', ')}`;
    default:
      return undefined;
  }
}

z.config({ customError: issueMessage });

/** Internal field names as people say them; any other camelCase name becomes words ("taskName" -> "task name"). */
const LABELS: Record<string, string> = {
  n: 'number of processes',
  perPage: 'rows per page',
  minutes: 'range',
  hostname: 'worker',
  expectedVersion: 'settings version',
  userId: 'user',
  id: 'task id',
  hard: 'hard time limit',
  soft: 'soft time limit',
  rateLimit: 'rate limit',
  from: 'from',
  to: 'to',
};

/** A field path as words: `['n']` -> "Number of processes", `['settings', 'concurrency']` -> "Settings concurrency". */
export function fieldLabel(path: readonly (string | number)[]): string {
  const words = path
    .filter((p) => typeof p === 'string')
    .map((p) => LABELS[p] ?? p.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase())
    .join(' ');
  return words ? words[0]!.toUpperCase() + words.slice(1) : 'The input';
}

const PREDICATE = /^(must|is|are|has|needs|can)\b/;

/**
 * One sentence for every issue: "Number of processes must be at most 100; Reason is required". A message
 * that is a sentence of its own ("enter a task name") is kept as it is, capitalised.
 */
export function describeIssues(
  issues: readonly { path: readonly (string | number)[]; message: string }[],
): string {
  return issues
    .map((i) =>
      PREDICATE.test(i.message)
        ? `${fieldLabel(i.path)} ${i.message}`
        : i.message.charAt(0).toUpperCase() + i.message.slice(1),
    )
    .join('; ');
}
