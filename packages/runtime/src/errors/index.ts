/**
 * One error tree for the runtime. Every error carries a stable string `code` (the console maps codes to
 * responses in one table) and, where Celery has an equivalent exception, the Python module and class name
 * it is stored under in the result backend so Python clients re-raise the same type.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'BROKER_UNAVAILABLE'
  | 'BROKER_PUBLISH_FAILED'
  | 'MESSAGE_MALFORMED'
  | 'ENCODE_ERROR'
  | 'TASK_NOT_REGISTERED'
  | 'TASK_FAILED'
  | 'TASK_REVOKED'
  | 'TASK_RETRY'
  | 'MAX_RETRIES_EXCEEDED'
  | 'SOFT_TIME_LIMIT'
  | 'TIME_LIMIT'
  | 'WORKER_LOST'
  | 'RESULT_TIMEOUT'
  | 'BACKEND_DISABLED'
  | 'SETTINGS_INVALID'
  | 'SETTINGS_CONFLICT'
  | 'CONTROL_ERROR';

export class LovageError extends Error {
  readonly code: ErrorCode;
  /** Python module the exception is stored under (`exc_module`), so Celery clients find the class. */
  excModule = 'lovage.errors';

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
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

/** The broker could not be reached, or refused a command. */
export class BrokerError extends LovageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BROKER_UNAVAILABLE', message, options);
  }
}

export class PublishError extends LovageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BROKER_PUBLISH_FAILED', message, options);
  }
}

/** A message that cannot be decoded as a Celery task message; the reason says what is wrong. */
export class MalformedMessageError extends LovageError {
  constructor(reason: string) {
    super('MESSAGE_MALFORMED', reason);
  }
}

/** A value that cannot be serialized as JSON. Stored as kombu's EncodeError, as Celery does. */
export class EncodeError extends LovageError {
  override excModule = 'kombu.exceptions';
  /** Where the bad value sits, e.g. `result.user`. */
  readonly path: string;
  constructor(path: string, problem: string) {
    super('ENCODE_ERROR', `${path}: ${problem}`);
    this.path = path;
  }
}

export class NotRegistered extends LovageError {
  override excModule = 'celery.exceptions';
  readonly taskName: string;
  constructor(taskName: string) {
    super('TASK_NOT_REGISTERED', taskName);
    this.taskName = taskName;
  }
}

export class TaskRevokedError extends LovageError {
  override excModule = 'celery.exceptions';
  /** Why: `revoked`, `expired` or `terminated`, as Celery's exc_message. */
  readonly reason: string;
  constructor(reason = 'revoked') {
    super('TASK_REVOKED', reason);
    this.reason = reason;
  }
}

export class MaxRetriesExceededError extends LovageError {
  override excModule = 'celery.exceptions';
  constructor(message: string) {
    super('MAX_RETRIES_EXCEEDED', message);
  }
}

export class SoftTimeLimitExceeded extends LovageError {
  override excModule = 'billiard.exceptions';
  constructor(seconds: number) {
    super('SOFT_TIME_LIMIT', `soft time limit (${seconds}s) exceeded`);
  }
  override get excArgs(): unknown[] {
    return [];
  }
}

export class TimeLimitExceeded extends LovageError {
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

export class WorkerLostError extends LovageError {
  override excModule = 'billiard.exceptions';
  constructor(message: string) {
    super('WORKER_LOST', message);
  }
}

/** `AsyncResult.get` waited longer than its timeout. Celery: celery.exceptions.TimeoutError. */
export class ResultTimeoutError extends LovageError {
  override excModule = 'celery.exceptions';
  constructor(taskId: string, seconds: number) {
    super('RESULT_TIMEOUT', `task ${taskId} did not finish within ${seconds}s`);
  }
}

/** Stored worker settings that do not pass the settings schema; the message names the field. */
export class SettingsInvalidError extends LovageError {
  constructor(message: string) {
    super('SETTINGS_INVALID', message);
  }
}

/** Someone saved a newer settings version since the one an edit started from. */
export class SettingsConflictError extends LovageError {
  constructor(
    readonly expectedVersion: number,
    readonly currentVersion: number,
  ) {
    super(
      'SETTINGS_CONFLICT',
      `the settings changed while you edited them (you started from version ${expectedVersion}, the current one is ${currentVersion})`,
    );
  }
}

/** A remote-control request that could not be sent, or a bad argument to one. */
export class ControlError extends LovageError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONTROL_ERROR', message, options);
  }
}

export class BackendDisabledError extends LovageError {
  constructor() {
    super(
      'BACKEND_DISABLED',
      'results are disabled: create the app with a `backend` URL to store and read them',
    );
  }
}

/**
 * A task failed on a worker (Lovage or Celery). `name` is the remote exception's type (`ValueError`), the
 * message its arguments, and `traceback` the worker's traceback text.
 */
export class TaskFailedError extends LovageError {
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

/**
 * Thrown by `ctx.retry()` to ask the worker to re-publish the task (Celery's `celery.exceptions.Retry`).
 * Not a failure: the worker stores RETRY and sends the task again with `retries + 1`.
 */
export class RetryRequested extends LovageError {
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
