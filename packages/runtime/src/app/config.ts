/**
 * App configuration, validated once with zod. Each option names the Celery setting it mirrors.
 */
import { z } from 'zod';
import { ConfigError } from '../errors';
import { parseRateLimit } from '../task/rate-limit';

const seconds = z.number().positive();

export const configSchema = z.object({
  /** Broker URL, `redis://host:6379/0`. Celery: broker_url. */
  broker: z.string().regex(/^rediss?:\/\//, 'broker must be a redis:// or rediss:// URL'),
  /** Result backend URL, `redis://host:6379/1`; omit to turn results off. Celery: result_backend. */
  backend: z
    .string()
    .regex(/^rediss?:\/\//, 'backend must be a redis:// or rediss:// URL')
    .nullish(),
  /** Seconds results are kept; null keeps them forever. Celery: result_expires (86400). */
  resultExpires: seconds.nullable().default(86400),
  /** Queue for tasks that name none. Celery: task_default_queue ('celery'). */
  defaultQueue: z.string().min(1).default('celery'),
  /**
   * Publish a `task-sent` event for every task this app sends, so monitors (the console) show a task from
   * the moment it is queued, before any worker received it. Celery: task_send_sent_event (false).
   */
  taskSendSentEvent: z.boolean().default(false),
  /** Seconds a revoked id is honoured. Celery keeps revokes 10800 s in worker memory; we keep them in Redis. */
  revokedTtl: seconds.default(10800),
  /** Broker transport options. Celery: broker_transport_options. */
  brokerTransportOptions: z
    .object({
      /** Prefix for every broker key and channel. kombu: global_keyprefix (''). */
      globalKeyprefix: z.string().default(''),
      /** Lease in seconds; a dead worker's tasks return to the queue after it. kombu: visibility_timeout. */
      visibilityTimeout: seconds.default(30),
      /** Seconds an idle consumer blocks before re-checking the other priority buckets (1). */
      pollInterval: seconds.max(30).default(1),
      /**
       * Reconnects a client command waits through while Redis is unreachable before it fails (20, about
       * half a minute; null: forever). A console answering people sets 1. Consumers always wait.
       */
      maxRetriesPerRequest: z.number().int().min(0).nullable().default(20),
    })
    .default({ globalKeyprefix: '', visibilityTimeout: 30, pollInterval: 1, maxRetriesPerRequest: 20 }),
  /** Defaults applied to every task (their per-task options win). Celery: task_* settings. */
  taskDefaults: z
    .object({
      acksLate: z.boolean().optional(),
      maxRetries: z.number().int().min(0).nullable().optional(),
      defaultRetryDelay: z.number().min(0).optional(),
      rateLimit: z
        .union([z.string(), z.number()])
        .nullable()
        .optional()
        .refine(
          (v) => {
            try {
              parseRateLimit(v);
              return true;
            } catch {
              return false;
            }
          },
          { message: 'rate limit must look like 10/s, 100/m or 1000/h' },
        ),
      timeLimit: seconds.nullable().optional(),
      softTimeLimit: seconds.nullable().optional(),
      ignoreResult: z.boolean().optional(),
      trackStarted: z.boolean().optional(),
    })
    .default({}),
});

export type AppConfigInput = z.input<typeof configSchema>;
export type AppConfig = z.output<typeof configSchema>;

export function parseConfig(input: AppConfigInput): AppConfig {
  const res = configSchema.safeParse(input);
  if (!res.success) {
    const first = res.error.issues[0]!;
    throw new ConfigError(`invalid app config at ${first.path.join('.') || '(root)'}: ${first.message}`);
  }
  return res.data;
}
