/**
 * One error tree for the runtime, grouped by subsystem as Celery's is (celery/exceptions.py). Every error
 * carries a stable string `code` (the console maps codes to responses in one table) and, where Celery has an
 * equivalent exception, the Python module and class name it is stored under in the result backend, so
 * Python clients re-raise the same type.
 *
 *   LovageError
 *    ├─ ConfigError                 CONFIG_INVALID
 *    ├─ BrokerError                 BROKER_UNAVAILABLE
 *    │   └─ PublishError            BROKER_PUBLISH_FAILED
 *    ├─ BackendError                BACKEND_UNAVAILABLE
 *    │   ├─ ResultTimeoutError      RESULT_TIMEOUT          celery.exceptions
 *    │   └─ BackendDisabledError    BACKEND_DISABLED
 *    ├─ StateError                  STATE_UNAVAILABLE
 *    │   ├─ SettingsInvalidError    SETTINGS_INVALID
 *    │   └─ SettingsConflictError   SETTINGS_CONFLICT
 *    ├─ ProtocolError
 *    │   ├─ MalformedMessageError   MESSAGE_MALFORMED
 *    │   └─ EncodeError             ENCODE_ERROR            kombu.exceptions
 *    ├─ ControlError                CONTROL_ERROR
 *    ├─ PoolError
 *    │   └─ PoolStartError          POOL_START_FAILED       (apps/worker)
 *    ├─ TaskError
 *    │   ├─ NotRegistered           TASK_NOT_REGISTERED     celery.exceptions
 *    │   ├─ TaskRevokedError        TASK_REVOKED            celery.exceptions
 *    │   ├─ MaxRetriesExceededError MAX_RETRIES_EXCEEDED    celery.exceptions
 *    │   ├─ SoftTimeLimitExceeded   SOFT_TIME_LIMIT         billiard.exceptions
 *    │   ├─ TimeLimitExceeded       TIME_LIMIT              billiard.exceptions
 *    │   ├─ WorkerLostError         WORKER_LOST             billiard.exceptions
 *    │   └─ TaskFailedError         TASK_FAILED             (the remote exception's own)
 *    └─ TaskPredicate               not failures: they tell the worker what to do with the task
 *        └─ RetryRequested          TASK_RETRY              celery.exceptions.Retry
 *
 * A subsystem's root is also its "unavailable" error: adapters turn their client library's connection
 * errors into it at their boundary (redis/connection.ts `redisBoundary`), so no caller needs to know
 * the library.
 */
export type BrokerErrorCode = 'BROKER_UNAVAILABLE' | 'BROKER_PUBLISH_FAILED';
export type BackendErrorCode = 'BACKEND_UNAVAILABLE' | 'RESULT_TIMEOUT' | 'BACKEND_DISABLED';
export type StateErrorCode = 'STATE_UNAVAILABLE' | 'SETTINGS_INVALID' | 'SETTINGS_CONFLICT';
export type ProtocolErrorCode = 'MESSAGE_MALFORMED' | 'ENCODE_ERROR';
export type PoolErrorCode = 'POOL_START_FAILED';
export type TaskErrorCode =
  | 'TASK_NOT_REGISTERED'
  | 'TASK_FAILED'
  | 'TASK_REVOKED'
  | 'MAX_RETRIES_EXCEEDED'
  | 'SOFT_TIME_LIMIT'
  | 'TIME_LIMIT'
  | 'WORKER_LOST';
export type TaskPredicateCode = 'TASK_RETRY';

export type ErrorCode =
  | 'CONFIG_INVALID'
  | BrokerErrorCode
  | BackendErrorCode
  | StateErrorCode
  | ProtocolErrorCode
  | 'CONTROL_ERROR'
  | PoolErrorCode
  | TaskErrorCode
  | TaskPredicateCode;

interface Options {
  cause?: unknown;
}

export class LovageError extends Error {
  readonly code: ErrorCode;
  /** Python module the exception is stored under (`exc_module`), so Celery clients find the class. */
  excModule = 'lovage.errors';

  constructor(code: ErrorCode, message: string, options?: Options) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }

  /** The exception's arguments as Celery stores them (`exc_message`). */
  get excArgs(): unknown[] {
    return [this.message];
  }
}

export class ConfigError extends LovageError {
  constructor(message: string) {
    super('CONFIG_INVALID', message);
  }
}

/** The broker could not be reached, or refused a command. Root of the broker's errors. */
export class BrokerError extends LovageError {
  constructor(message: string, options?: Options, code: BrokerErrorCode = 'BROKER_UNAVAILABLE') {
    super(code, message, options);
  }
}

export class PublishError extends BrokerError {
  constructor(message: string, options?: Options) {
    super(message, options, 'BROKER_PUBLISH_FAILED');
  }
}

/** The result backend could not be reached. Root of the result backend's errors. */
export class BackendError extends LovageError {
  constructor(message: string, options?: Options, code: BackendErrorCode = 'BACKEND_UNAVAILABLE') {
    super(code, message, options);
  }
}

/** `AsyncResult.get` waited longer than its timeout. Celery: celery.exceptions.TimeoutError. */
export class ResultTimeoutError extends BackendError {
  override excModule = 'celery.exceptions';
  constructor(taskId: string, seconds: number) {
    super(`task ${taskId} did not finish within ${seconds}s`, undefined, 'RESULT_TIMEOUT');
  }
}

export class BackendDisabledError extends BackendError {
  constructor() {
    super(
      'results are disabled: create the app with a `backend` URL to store and read them',
      undefined,
      'BACKEND_DISABLED',
    );
  }
}

/** The state store could not be reached. Root of the state store's errors. */
export class StateError extends LovageError {
  constructor(message: string, options?: Options, code: StateErrorCode = 'STATE_UNAVAILABLE') {
    super(code, message, options);
  }
}

/** Stored worker settings that do not pass the settings schema; the message names the field. */
export class SettingsInvalidError extends StateError {
  constructor(message: string) {
    super(message, undefined, 'SETTINGS_INVALID');
  }
}

/** Someone saved a newer settings version since the one an edit started from. */
export class SettingsConflictError extends StateError {
  constructor(
    readonly expectedVersion: number,
    readonly currentVersion: number,
  ) {
    super(
      `the settings changed while you edited them (you started from version ${expectedVersion}, the current one is ${currentVersion})`,
      undefined,
      'SETTINGS_CONFLICT',
    );
  }
}

/** A message or value that cannot be read or written in Celery's protocol. */
export abstract class ProtocolError extends LovageError {
  constructor(code: ProtocolErrorCode, message: string, options?: Options) {
    super(code, message, options);
  }
}

/** A message that cannot be decoded as a Celery task message; the reason says what is wrong. */
export class MalformedMessageError extends ProtocolError {
  constructor(reason: string) {
    super('MESSAGE_MALFORMED', reason);
  }
}

/** A value that cannot be serialized as JSON. Stored as kombu's EncodeError, as Celery does. */
export class EncodeError extends ProtocolError {
  override excModule = 'kombu.exceptions';
  /** Where the bad value sits, e.g. `result.user`. */
  readonly path: string;
  constructor(path: string, problem: string) {
    super('ENCODE_ERROR', `${path}: ${problem}`);
    this.path = path;
  }
}

/** A remote-control request that could not be sent, or a bad argument to one. */
export class ControlError extends LovageError {
  constructor(message: string, options?: Options) {
    super('CONTROL_ERROR', message, options);
  }
}

/** A pool that cannot run work (its executors do not start). The pools themselves live in apps/worker. */
export abstract class PoolError extends LovageError {
  constructor(code: PoolErrorCode, message: string, options?: Options) {
    super(code, message, options);
  }
}

/** A task that did not produce a result: not registered, revoked, out of retries or time, lost, failed. */
export abstract class TaskError extends LovageError {
  constructor(code: TaskErrorCode, message: string, options?: Options) {
    super(code, message, options);
  }
}

export class NotRegistered extends TaskError {
  override excModule = 'celery.exceptions';
  readonly taskName: string;
  constructor(taskName: string) {
    super('TASK_NOT_REGISTERED', taskName);
    this.taskName = taskName;
  }
}

export class TaskRevokedError extends TaskError {
  override excModule = 'celery.exceptions';
  /** Why: `revoked`, `expired` or `terminated`, as Celery's exc_message. */
  readonly reason: string;
  constructor(reason = 'revoked') {
    super('TASK_REVOKED', reason);
    this.reason = reason;
  }
}

export class MaxRetriesExceededError extends TaskError {
  override excModule = 'celery.exceptions';
  constructor(message: string) {
    super('MAX_RETRIES_EXCEEDED', message);
  }
}

export class SoftTimeLimitExceeded extends TaskError {
  override excModule = 'billiard.exceptions';
  constructor(seconds: number) {
    super('SOFT_TIME_LIMIT', `soft time limit (${seconds}s) exceeded`);
  }
  override get excArgs(): unknown[] {
    return [];
  }
}

export class TimeLimitExceeded extends TaskError {
  override excModule = 'billiard.exceptions';
  readonly seconds: number;
  constructor(seconds: number) {
    super('TIME_LIMIT', `hard time limit (${seconds}s) exceeded`);
    this.seconds = seconds;
  }
  override get excArgs(): unknown[] {
    return [this.seconds];
  }
}

export class WorkerLostError extends TaskError {
  override excModule = 'billiard.exceptions';
  constructor(message: string) {
    super('WORKER_LOST', message);
  }
}

/**
 * A task failed on a worker (Lovage or Celery). `name` is the remote exception's type (`ValueError`), the
 * message its arguments, and `traceback` the worker's traceback text.
 */
export class TaskFailedError extends TaskError {
  readonly taskId: string;
  readonly excType: string;
  readonly remoteModule: string | null;
  readonly remoteArgs: unknown[];
  readonly traceback: string | null;

  constructor(init: {
    taskId: string;
    excType: string;
    excModule: string | null;
    excArgs: unknown[];
    traceback: string | null;
  }) {
    super('TASK_FAILED', init.excArgs.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(', '));
    this.name = init.excType;
    this.taskId = init.taskId;
    this.excType = init.excType;
    this.remoteModule = init.excModule;
    this.excModule = init.excModule ?? 'lovage.errors';
    this.remoteArgs = init.excArgs;
    this.traceback = init.traceback;
  }

  override get excArgs(): unknown[] {
    return this.remoteArgs;
  }
}

export abstract class TaskPredicate extends LovageError {
  constructor(code: TaskPredicateCode, message: string, options?: Options) {
    super(code, message, options);
  }
}

/**
 * Thrown by `ctx.retry()` to ask the worker to re-publish the task (Celery's `celery.exceptions.Retry`).
 * Not a failure: the worker stores RETRY and sends the task again with `retries + 1`.
 */
export class RetryRequested extends TaskPredicate {
  override excModule = 'celery.exceptions';
  readonly countdown: number | null;
  readonly eta: Date | null;
  readonly exc: unknown;
  constructor(init: { countdown: number | null; eta: Date | null; exc: unknown; message: string }) {
    super('TASK_RETRY', init.message);
    this.name = 'Retry';
    this.countdown = init.countdown;
    this.eta = init.eta;
    this.exc = init.exc;
  }
}

/**
 * An error's type name as stored in `exc_type`: its `name`, or its class name when a subclass left `name`
 * as the inherited `'Error'` (`class PaymentDeclined extends Error {}`).
 */
export function errorTypeName(err: Error): string {
  if (err.name && err.name !== 'Error') return err.name;
  const ctor = (err as { constructor?: { name?: string } }).constructor?.name;
  return ctor && ctor !== 'Object' ? ctor : 'Error';
}
