/**
 * JSON encoding with kombu's conventions and errors that name the bad value.
 *
 * `JSON.stringify` silently drops functions, turns NaN into null, throws a pathless TypeError on bigint and
 * cycles, and flattens class instances into whatever own properties they have. For a task queue that stores
 * results other programs read, each of these is a bug report waiting to happen, so values are walked first
 * and anything that would not round-trip raises an EncodeError with the path and type of the value
 * (`result.user: instance of class User`).
 *
 * Conventions (kombu's JSONEncoder): a Date becomes an ISO-8601 string in UTC with a `Z` suffix; an object
 * with a `toJSON()` method is encoded as what that method returns (kombu's `__json__`); `undefined`
 * properties are left out and `undefined` array items become null, like JSON.stringify.
 */
import { EncodeError } from '../errors';

function describe(value: object): string {
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  const name = proto?.constructor?.name;
  return name ? `instance of class ${name}` : 'object with an unknown prototype';
}

function keyPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function toPlain(value: unknown, path: string, ancestors: Set<object>): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new EncodeError(path, `${String(value)} is not a JSON number`);
      return value;
    case 'undefined':
      return undefined;
    case 'bigint':
      return fail(path, 'bigint');
    case 'function':
      return fail(path, `function ${value.name || '(anonymous)'}`);
    case 'symbol':
      return fail(path, 'symbol');
  }
  if (value === null) return null;
  const obj = value as object;
  if (ancestors.has(obj)) throw new EncodeError(path, 'cycle: this value contains itself');
  if (obj instanceof Date) {
    if (Number.isNaN(obj.getTime())) throw new EncodeError(path, 'invalid Date');
    return obj.toISOString();
  }
  ancestors.add(obj);
  try {
    if (Array.isArray(obj)) {
      return obj.map((item, i) => {
        const out = toPlain(item, `${path}[${i}]`, ancestors);
        return out === undefined ? null : out;
      });
    }
    const proto = Object.getPrototypeOf(obj) as unknown;
    if (proto === Object.prototype || proto === null) {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(obj)) {
        const v = toPlain((obj as Record<string, unknown>)[key], keyPath(path, key), ancestors);
        if (v !== undefined) out[key] = v;
      }
      return out;
    }
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function' && !ArrayBuffer.isView(obj)) {
      return toPlain(toJSON.call(obj), path, ancestors);
    }
    return fail(path, describe(obj));
  } finally {
    ancestors.delete(obj);
  }
}

function fail(path: string, problem: string): never {
  throw new EncodeError(path, problem);
}

/** Converts a value to plain JSON data, or throws EncodeError naming the path of the first bad value. */
export function toJsonValue(value: unknown, path: string): unknown {
  const out = toPlain(value, path, new Set());
  return out === undefined ? null : out;
}

/** Serializes a value as JSON text, or throws EncodeError naming the path of the first bad value. */
export function encodeJson(value: unknown, path: string): string {
  return JSON.stringify(toJsonValue(value, path));
}
