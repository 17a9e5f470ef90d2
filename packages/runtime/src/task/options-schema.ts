/**
 * Validation of the options a task is registered with (`app.task(name, fn, options)`): a misspelt option
 * or an impossible value is refused when the task is defined, not discovered when it runs.
 */
import { z } from 'zod';
import { parseRateLimit } from './rate-limit';
import type { ErrorMatcher, TaskOptions } from './task';

const seconds = z.number('must be a number of seconds').positive('must be more than 0 seconds');

export const rateLimitSchema = z
  .union([z.string(), z.number()])
  .nullable()
  .refine(
    (v) => {
      try {
        parseRateLimit(v);
        return true;
      } catch {
        return false;
      }
    },
    { message: 'must look like 10/s, 100/m or 1000/h' },
  );

export const taskOptionsSchema = z.strictObject({
  queue: z.string().min(1, 'must name a queue'),
  acksLate: z.boolean(),
  maxRetries: z.number().int('must be a whole number').min(0, 'must be 0 or more').nullable(),
  defaultRetryDelay: z.number().min(0, 'must be 0 or more seconds'),
  autoretryFor: z.array(
    z.custom<ErrorMatcher>(
      (v) => typeof v === 'string' || typeof v === 'function',
      'must list error classes or error names',
    ),
  ),
  retryBackoff: z.union([z.boolean(), z.number().positive('must be more than 0 seconds')]),
  retryBackoffMax: z.number().min(0, 'must be 0 or more seconds'),
  retryJitter: z.boolean(),
  rateLimit: rateLimitSchema,
  ignoreResult: z.boolean(),
  expires: z.union([z.number().min(0, 'must be 0 or more seconds'), z.date()]).nullable(),
  priority: z.number().int('must be a whole number').min(0).max(255),
  timeLimit: seconds.nullable(),
  softTimeLimit: seconds.nullable(),
  trackStarted: z.boolean(),
  rejectOnWorkerLost: z.boolean(),
} satisfies Record<keyof TaskOptions, z.ZodType>);

export const TASK_OPTION_NAMES = Object.keys(taskOptionsSchema.shape);

/** Celery's names for task options. */
export const CELERY_TASK_OPTION_NAMES: Record<string, string> = {
  acks_late: 'acksLate',
  max_retries: 'maxRetries',
  default_retry_delay: 'defaultRetryDelay',
  autoretry_for: 'autoretryFor',
  retry_backoff: 'retryBackoff',
  retry_backoff_max: 'retryBackoffMax',
  retry_jitter: 'retryJitter',
  rate_limit: 'rateLimit',
  ignore_result: 'ignoreResult',
  time_limit: 'timeLimit',
  soft_time_limit: 'softTimeLimit',
  track_started: 'trackStarted',
  reject_on_worker_lost: 'rejectOnWorkerLost',
};
