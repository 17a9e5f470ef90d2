import { describe, expect, it } from 'vitest';
import {
  decodeMeta,
  deserializeException,
  EncodeError,
  encodeMeta,
  MaxRetriesExceededError,
  NotRegistered,
  serializeException,
  SoftTimeLimitExceeded,
  TaskFailedError,
  TimeLimitExceeded,
} from '../../src';

const NOW = new Date(Date.UTC(2026, 10, 24, 0, 37, 11, 254));

describe('backend/meta encodeMeta', () => {
  it('writes Celery keys in Celery order with Python separators', () => {
    expect(encodeMeta({ taskId: 'd14c', status: 'SUCCESS', resultJson: '5', now: NOW })).toBe(
      '{"status": "SUCCESS", "result": 5, "traceback": null, "children": [], ' +
        '"date_done": "2026-11-24T00:37:11.254000", "task_id": "d14c"}',
    );
  });

  it('has no date_done before the task is ready, and keeps the result text as given', () => {
    const text = encodeMeta({
      taskId: 'x',
      status: 'RETRY',
      resultJson: '{"exc_type": "Retry"}',
      traceback: 'tb',
      children: [[['x', null], null]],
      now: NOW,
    });
    expect(text).toBe(
      '{"status": "RETRY", "result": {"exc_type": "Retry"}, "traceback": "tb", ' +
        '"children": [[["x",null],null]], "date_done": null, "task_id": "x"}',
    );
    expect(Object.keys(JSON.parse(text) as object)).toEqual([
      'status',
      'result',
      'traceback',
      'children',
      'date_done',
      'task_id',
    ]);
  });

  it('appends group_id and parent_id when set', () => {
    const meta = JSON.parse(
      encodeMeta({
        taskId: 'x',
        status: 'FAILURE',
        resultJson: 'null',
        groupId: 'g',
        parentId: 'p',
        now: NOW,
      }),
    ) as Record<string, unknown>;
    expect(Object.keys(meta).slice(-3)).toEqual(['task_id', 'group_id', 'parent_id']);
    expect(meta).toMatchObject({ group_id: 'g', parent_id: 'p', date_done: '2026-11-24T00:37:11.254000' });
  });

  it('decodeMeta reads stored meta and treats garbage as absent', () => {
    expect(decodeMeta(encodeMeta({ taskId: 'x', status: 'SUCCESS', resultJson: '[1]' }))).toMatchObject({
      status: 'SUCCESS',
      result: [1],
      task_id: 'x',
    });
    expect(decodeMeta('not json')).toBeNull();
    expect(decodeMeta('{"result": 1}')).toBeNull();
  });
});

describe('backend/meta exceptions', () => {
  it('stores Python builtin names under builtins', () => {
    expect(serializeException(new TypeError('bad type'))).toEqual({
      exc_type: 'TypeError',
      exc_message: ['bad type'],
      exc_module: 'builtins',
    });
  });

  it('stores other error names under lovage.errors', () => {
    class PaymentDeclined extends Error {
      override name = 'PaymentDeclined';
    }
    expect(serializeException(new PaymentDeclined('card 42'))).toEqual({
      exc_type: 'PaymentDeclined',
      exc_message: ['card 42'],
      exc_module: 'lovage.errors',
    });
    expect(serializeException(new RangeError('r')).exc_module).toBe('lovage.errors');
  });

  it('names a subclass that did not set `name` by its class', () => {
    class CardExpired extends Error {}
    expect(serializeException(new CardExpired('card 7')).exc_type).toBe('CardExpired');
    expect(serializeException(new Error('plain')).exc_type).toBe('Error');
  });

  it('honours excModule and excArgs on an error', () => {
    const err = Object.assign(new Error('x'), {
      name: 'ValueError',
      excModule: 'myapp.errors',
      excArgs: [1, 'b'],
    });
    expect(serializeException(err)).toEqual({
      exc_type: 'ValueError',
      exc_message: [1, 'b'],
      exc_module: 'myapp.errors',
    });
  });

  it('stores LovageError subclasses under their Celery modules and arguments', () => {
    expect(serializeException(new NotRegistered('spec.nope'))).toEqual({
      exc_type: 'NotRegistered',
      exc_message: ['spec.nope'],
      exc_module: 'celery.exceptions',
    });
    expect(serializeException(new TimeLimitExceeded(2))).toEqual({
      exc_type: 'TimeLimitExceeded',
      exc_message: [2],
      exc_module: 'billiard.exceptions',
    });
    expect(serializeException(new SoftTimeLimitExceeded(1))).toEqual({
      exc_type: 'SoftTimeLimitExceeded',
      exc_message: [],
      exc_module: 'billiard.exceptions',
    });
    expect(serializeException(new EncodeError('result.x', 'bigint'))).toEqual({
      exc_type: 'EncodeError',
      exc_message: ['result.x: bigint'],
      exc_module: 'kombu.exceptions',
    });
    expect(serializeException(new MaxRetriesExceededError('m')).exc_module).toBe('celery.exceptions');
  });

  it('stores thrown non-errors as Error with their text', () => {
    expect(serializeException('boom')).toEqual({
      exc_type: 'Error',
      exc_message: ['boom'],
      exc_module: 'lovage.errors',
    });
  });

  it('replaces arguments that are not JSON with their text', () => {
    const err = Object.assign(new Error('x'), { excArgs: [1n, { ok: true }] });
    expect(serializeException(err).exc_message).toEqual(['1', { ok: true }]);
  });

  it('deserializeException keeps type, message, module and traceback', () => {
    const err = deserializeException(
      'task-1',
      { exc_type: 'ValueError', exc_message: ['boom', 2], exc_module: 'builtins' },
      'Traceback (most recent call last): ...',
    );
    expect(err).toBeInstanceOf(TaskFailedError);
    expect(err.name).toBe('ValueError');
    expect(err.message).toBe('boom, 2');
    expect(err.excType).toBe('ValueError');
    expect(err.remoteModule).toBe('builtins');
    expect(err.remoteArgs).toEqual(['boom', 2]);
    expect(err.traceback).toBe('Traceback (most recent call last): ...');
    expect(err.taskId).toBe('task-1');
  });

  it('deserializeException accepts a string exc_message and a non-dict result', () => {
    const single = deserializeException('t', { exc_type: 'KeyError', exc_message: 'k' }, null);
    expect(single.message).toBe('k');
    expect(single.remoteModule).toBeNull();
    const odd = deserializeException('t', 'something broke', null);
    expect(odd.name).toBe('Error');
    expect(odd.message).toBe('something broke');
  });

  it('round-trips through serialize and deserialize', () => {
    const stored = serializeException(new TypeError('nope'));
    const back = deserializeException('t', JSON.parse(JSON.stringify(stored)), 'tb');
    expect([back.name, back.message, back.remoteModule, back.traceback]).toEqual([
      'TypeError',
      'nope',
      'builtins',
      'tb',
    ]);
  });
});
