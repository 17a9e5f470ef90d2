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

const USERINFO_IN_TEXT = /([a-z][a-z0-9+.-]*:\/\/[^:/\s@'"]*:)[^@\s'"/]+@/gi;

/** Masks passwords of URLs inside free text (argument reprs, tracebacks): `redis://:****@host`. */
export function maskSecretsInText(text: string): string;
export function maskSecretsInText(text: string | null): string | null;
export function maskSecretsInText(text: string | null): string | null {
  return text === null ? null : text.replace(USERINFO_IN_TEXT, '$1****@');
}
