import { describe, expect, it } from 'vitest';
import { EXCEPTION_STATES, isReady, outranks, precedence, READY_STATES, States } from '../../src';

// celery/states.py PRECEDENCE, most important first; None (an unknown state) sits after FAILURE.
const CELERY_ORDER = [
  'SUCCESS',
  'FAILURE',
  'PROGRESS',
  'REVOKED',
  'STARTED',
  'RECEIVED',
  'REJECTED',
  'RETRY',
  'PENDING',
];

describe('task/states', () => {
  it('ranks states in Celery order', () => {
    const ranks = CELERY_ORDER.map(precedence);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(new Set(ranks).size).toBe(CELERY_ORDER.length);
    expect(precedence('SUCCESS')).toBe(0);
    expect(precedence('PENDING')).toBe(8);
  });

  it('puts any unknown (custom) state between FAILURE and REVOKED', () => {
    expect(precedence('PROGRESS')).toBe(precedence('SOMETHING_ELSE'));
    expect(outranks('FAILURE', 'PROGRESS')).toBe(true);
    expect(outranks('PROGRESS', 'REVOKED')).toBe(true);
  });

  it('decides which of two reports wins', () => {
    for (let i = 0; i < CELERY_ORDER.length; i++) {
      for (let j = i + 1; j < CELERY_ORDER.length; j++) {
        expect(
          outranks(CELERY_ORDER[i]!, CELERY_ORDER[j]!),
          `${CELERY_ORDER[i]} over ${CELERY_ORDER[j]}`,
        ).toBe(true);
        expect(outranks(CELERY_ORDER[j]!, CELERY_ORDER[i]!)).toBe(false);
      }
    }
    expect(outranks('STARTED', 'STARTED')).toBe(false);
  });

  it('knows the ready and exception states', () => {
    expect([...READY_STATES].sort()).toEqual(['FAILURE', 'REVOKED', 'SUCCESS']);
    expect([...EXCEPTION_STATES].sort()).toEqual(['FAILURE', 'RETRY', 'REVOKED']);
    expect(isReady(States.SUCCESS)).toBe(true);
    expect(isReady(States.STARTED)).toBe(false);
    expect(isReady(States.RETRY)).toBe(false);
    expect(isReady(States.PENDING)).toBe(false);
  });
});
