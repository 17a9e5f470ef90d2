/**
 * The error tree: each error sits under its subsystem with its stable code, the task errors keep the Celery
 * names Python clients re-raise.
 */
import { describe, expect, it } from 'vitest';
import {
  BackendDisabledError,
  BackendError,
  BrokerError,
  ConfigError,
  ControlError,
  EncodeError,
  LovageError,
  MalformedMessageError,
  MaxRetriesExceededError,
  NotRegistered,
  ProtocolError,
  PublishError,
  ResultTimeoutError,
  RetryRequested,
  serializeException,
  SettingsConflictError,
  SettingsInvalidError,
  SoftTimeLimitExceeded,
  StateError,
  TaskError,
  TaskFailedError,
  TaskPredicate,
  TaskRevokedError,
  TimeLimitExceeded,
  WorkerLostError,
} from '../../src';

describe('the error tree', () => {
  const cases: [LovageError, abstract new (...args: never[]) => LovageError, string][] = [
    [new ConfigError('x'), ConfigError, 'CONFIG_INVALID'],
    [new BrokerError('x'), BrokerError, 'BROKER_UNAVAILABLE'],
    [new PublishError('x'), BrokerError, 'BROKER_PUBLISH_FAILED'],
    [new BackendError('x'), BackendError, 'BACKEND_UNAVAILABLE'],
    [new ResultTimeoutError('id', 1), BackendError, 'RESULT_TIMEOUT'],
    [new BackendDisabledError(), BackendError, 'BACKEND_DISABLED'],
    [new StateError('x'), StateError, 'STATE_UNAVAILABLE'],
    [new SettingsInvalidError('x'), StateError, 'SETTINGS_INVALID'],
    [new SettingsConflictError(1, 2), StateError, 'SETTINGS_CONFLICT'],
    [new MalformedMessageError('x'), ProtocolError, 'MESSAGE_MALFORMED'],
    [new EncodeError('result', 'x'), ProtocolError, 'ENCODE_ERROR'],
    [new ControlError('x'), ControlError, 'CONTROL_ERROR'],
    [new NotRegistered('t'), TaskError, 'TASK_NOT_REGISTERED'],
    [new TaskRevokedError(), TaskError, 'TASK_REVOKED'],
    [new MaxRetriesExceededError('x'), TaskError, 'MAX_RETRIES_EXCEEDED'],
    [new SoftTimeLimitExceeded(1), TaskError, 'SOFT_TIME_LIMIT'],
    [new TimeLimitExceeded(1), TaskError, 'TIME_LIMIT'],
    [new WorkerLostError('x'), TaskError, 'WORKER_LOST'],
    [
      new TaskFailedError({
        taskId: 'i',
        excType: 'ValueError',
        excModule: 'builtins',
        excArgs: ['x'],
        traceback: null,
      }),
      TaskError,
      'TASK_FAILED',
    ],
    [new RetryRequested({ countdown: 1, eta: null, exc: null, message: 'x' }), TaskPredicate, 'TASK_RETRY'],
  ];

  it.each(cases)('%s sits under its subsystem with its stable code', (err, root, code) => {
    expect(err).toBeInstanceOf(root);
    expect(err).toBeInstanceOf(LovageError);
    expect(err.code).toBe(code);
  });

  it('a retry request is a predicate, not a task failure', () => {
    const r = new RetryRequested({ countdown: 1, eta: null, exc: null, message: 'Retry in 1s' });
    expect(r).not.toBeInstanceOf(TaskError);
    expect(r.name).toBe('Retry');
  });

  it('task errors are stored under the Celery names Python clients re-raise', () => {
    const stored = (e: Error) => {
      const { exc_type, exc_module } = serializeException(e);
      return `${String(exc_module)}.${String(exc_type)}`;
    };
    expect(stored(new NotRegistered('t'))).toBe('celery.exceptions.NotRegistered');
    expect(stored(new TaskRevokedError())).toBe('celery.exceptions.TaskRevokedError');
    expect(stored(new MaxRetriesExceededError('x'))).toBe('celery.exceptions.MaxRetriesExceededError');
    expect(stored(new SoftTimeLimitExceeded(1))).toBe('billiard.exceptions.SoftTimeLimitExceeded');
    expect(stored(new TimeLimitExceeded(1))).toBe('billiard.exceptions.TimeLimitExceeded');
    expect(stored(new WorkerLostError('x'))).toBe('billiard.exceptions.WorkerLostError');
    expect(stored(new EncodeError('result', 'x'))).toBe('kombu.exceptions.EncodeError');
  });
});
