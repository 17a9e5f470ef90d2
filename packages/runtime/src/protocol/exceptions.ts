/**
 * Exceptions on the wire: Celery's exception dict `{exc_type, exc_message, exc_module}` as a result meta
 * stores it and a task event shows it, made from a thrown error and read back into one that keeps type and
 * message. Shared by the result backend, the client, the pools and the worker.
 */
import { errorTypeName, LovageError, TaskFailedError } from '../errors';
import { toJsonValue } from './json';
import { pyRepr } from './repr';

export interface SerializedException {
  exc_type: string;
  exc_message: unknown[];
  exc_module: string;
}

/** Python exception names that exist in `builtins`, so a JS error of that name is re-raised as the real class. */
const PY_BUILTINS = new Set([
  'Exception',
  'ValueError',
  'TypeError',
  'KeyError',
  'IndexError',
  'RuntimeError',
  'LookupError',
  'ArithmeticError',
  'ZeroDivisionError',
  'AssertionError',
  'AttributeError',
  'NotImplementedError',
  'PermissionError',
  'TimeoutError',
  'ConnectionError',
  'OSError',
]);

function safeArgs(args: unknown[]): unknown[] {
  return args.map((a, i) => {
    try {
      return toJsonValue(a, `exc_message[${i}]`);
    } catch {
      return String(a);
    }
  });
}

/** How an error thrown by a task is stored: Celery's exception dict. */
export function serializeException(err: unknown): SerializedException {
  if (err instanceof LovageError) {
    return { exc_type: err.name, exc_message: safeArgs(err.excArgs), exc_module: err.excModule };
  }
  if (err instanceof Error) {
    const custom = err as Error & { excModule?: unknown; excArgs?: unknown };
    const module =
      typeof custom.excModule === 'string'
        ? custom.excModule
        : PY_BUILTINS.has(errorTypeName(err))
          ? 'builtins'
          : 'lovage.errors';
    const args = Array.isArray(custom.excArgs) ? custom.excArgs : [err.message];
    return { exc_type: errorTypeName(err), exc_message: safeArgs(args), exc_module: module };
  }
  return { exc_type: 'Error', exc_message: [String(err)], exc_module: 'lovage.errors' };
}

/** Turns a stored exception dict (from a Lovage or Celery worker) into an error that keeps type and message. */
export function deserializeException(
  taskId: string,
  result: unknown,
  traceback: string | null,
): TaskFailedError {
  if (typeof result === 'object' && result !== null && 'exc_type' in result) {
    const r = result as { exc_type: unknown; exc_message?: unknown; exc_module?: unknown };
    const args = Array.isArray(r.exc_message)
      ? r.exc_message
      : r.exc_message === undefined
        ? []
        : [r.exc_message];
    return new TaskFailedError({
      taskId,
      excType: String(r.exc_type),
      excModule: typeof r.exc_module === 'string' ? r.exc_module : null,
      excArgs: args,
      traceback,
    });
  }
  return new TaskFailedError({ taskId, excType: 'Error', excModule: null, excArgs: [result], traceback });
}

/** `ValueError('boom')`, as Celery's events show exceptions. */
export function excRepr(exc: { exc_type: string; exc_message: unknown[] }): string {
  return `${exc.exc_type}(${exc.exc_message.map((m) => pyRepr(m)).join(', ')})`;
}
