/**
 * Celery's result meta (shared/celery-protocol.md §4): the JSON stored at `celery-task-meta-<id>`, and
 * exceptions as `{exc_type, exc_message, exc_module}`.
 */
import { errorTypeName, LovageError, TaskFailedError } from '../errors';
import { toJsonValue } from '../protocol/json';
import { toNaiveUtcIso } from '../protocol/time';
import { isReady } from '../task/states';

export interface ResultMeta {
  status: string;
  result: unknown;
  traceback: string | null;
  children: unknown[];
  date_done: string | null;
  task_id: string;
  group_id?: string | null;
  parent_id?: string | null;
}

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

export interface MetaInit {
  taskId: string;
  status: string;
  /** The result as JSON text (already encoded and checked). */
  resultJson: string;
  traceback?: string | null;
  parentId?: string | null;
  groupId?: string | null;
  children?: unknown[];
  now?: Date;
}

/** Builds the stored JSON text without re-encoding the result. Key order and separators follow Celery. */
export function encodeMeta(init: MetaInit): string {
  const dateDone = isReady(init.status) ? JSON.stringify(toNaiveUtcIso(init.now ?? new Date())) : 'null';
  let out =
    `{"status": ${JSON.stringify(init.status)}, "result": ${init.resultJson}, ` +
    `"traceback": ${JSON.stringify(init.traceback ?? null)}, "children": ${JSON.stringify(init.children ?? [])}, ` +
    `"date_done": ${dateDone}, "task_id": ${JSON.stringify(init.taskId)}`;
  if (init.groupId) out += `, "group_id": ${JSON.stringify(init.groupId)}`;
  if (init.parentId) out += `, "parent_id": ${JSON.stringify(init.parentId)}`;
  return `${out}}`;
}

export function decodeMeta(text: string): ResultMeta | null {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && typeof (v as ResultMeta).status === 'string')
      return v as ResultMeta;
  } catch {
    // A value we cannot read is treated as absent (PENDING) rather than crashing a waiting client.
  }
  return null;
}
