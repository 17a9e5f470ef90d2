import 'server-only';
import { maskUrl } from '../runtime';

const SECRET_KEY = /pass(word)?|secret|token|api[-_]?key|credential/i;
const URL_WITH_USERINFO = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s]*@/i;

/**
 * A copy of `value` fit to show or to store in the audit log: URLs lose their passwords (`maskUrl`) and
 * values under secret-looking keys become `****`.
 */
export function maskSecrets<T>(value: T): T {
  return walk(value, null) as T;
}

function walk(value: unknown, key: string | null): unknown {
  if (key !== null && SECRET_KEY.test(key) && value !== null && value !== undefined && value !== '') {
    return '****';
  }
  if (typeof value === 'string') return URL_WITH_USERINFO.test(value) ? maskUrl(value) : value;
  if (Array.isArray(value)) return value.map((v) => walk(v, null));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k)]));
  }
  return value;
}

/**
 * `://user:password@` in text. Linear time: it can only start at the literal `://`, and each part is one
 * character class that excludes what ends it, so no character is tried twice (the old pattern, which began
 * with the scheme's `[a-z][a-z0-9+.-]*`, retried every run of letters from each of its characters:
 * quadratic, minutes on a megabyte of `x`).
 */
const USERINFO_IN_TEXT = /:\/\/([^:/\s@'"]*):[^@\s'"/]+@/g;
/** A password the end of the text cut short: `://user:pass` with no `@` yet. */
const DANGLING_USERINFO = /^(:\/\/[^:/\s@'"]*:)[^@\s'"/]+$/;
const SCHEME_CHAR = /[a-z0-9+.-]/i;
const LETTER = /[a-z]/i;

/**
 * Whether `://` at `at` ends a URL scheme (`[a-z][a-z0-9+.-]*`): a run of scheme characters with a letter
 * in it right before. The walk back stops at `:` or `/`, so runs for different `://` never overlap.
 */
function endsScheme(text: string, at: number): boolean {
  for (let i = at - 1; i >= 0 && SCHEME_CHAR.test(text[i]!); i--) {
    if (LETTER.test(text[i]!)) return true;
  }
  return false;
}

/**
 * A quoted key, a colon and a value (a quoted string or a number), as Python's dict repr and JSON write
 * them: `'password': 'x'`, `"token": "x"`, `'pin': 1234`. Linear: the key is at most 100 characters of one
 * class, and the string value is one pass over its characters (escapes taken two at a time).
 */
const KEYED_VALUE = /(['"])([^'"\n]{1,100})\1(\s*:\s*)(?:(['"])((?:\\.|(?!\4)[^\\\n])*)\4|(-?\d[\d.]*))/g;

/**
 * Masks secrets inside free text (argument reprs, results, tracebacks): passwords of URLs
 * (`redis://:****@host`) and the values under secret-looking keys of dicts written out
 * (`{'password': '****'}`), the rule `maskSecrets` applies to objects.
 */
export function maskSecretsInText(text: string): string;
export function maskSecretsInText(text: string | null): string | null;
export function maskSecretsInText(text: string | null): string | null {
  if (text === null) return null;
  return text
    .replace(USERINFO_IN_TEXT, (match: string, user: string, at: number) =>
      endsScheme(text, at) ? `://${user}:****@` : match,
    )
    .replace(
      KEYED_VALUE,
      (
        match: string,
        q: string,
        key: string,
        colon: string,
        vq: string | undefined,
        value: string | undefined,
      ) =>
        SECRET_KEY.test(key) && (vq === undefined || value !== '')
          ? `${q}${key}${q}${colon}${vq === undefined ? "'****'" : `${vq}****${vq}`}`
          : match,
    );
}

/**
 * At most `max` characters of `text`, passwords masked, and whether it was cut. The text is cut first, so
 * the work is bounded by `max` whatever the size of the text; a URL the cut left without its `@` still
 * loses its password.
 */
export function cutAndMask(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text: maskSecretsInText(text), truncated: false };
  const cut = maskSecretsInText(text.slice(0, max));
  const last = cut.lastIndexOf('://');
  const dangling = last < 0 ? null : DANGLING_USERINFO.exec(cut.slice(last));
  return {
    text: dangling && endsScheme(cut, last) ? `${cut.slice(0, last)}${dangling[1]}****` : cut,
    truncated: true,
  };
}
