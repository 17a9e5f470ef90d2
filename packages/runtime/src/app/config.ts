/**
 * App configuration, validated once with zod. Each option names the Celery setting it mirrors.
 */
import { z } from 'zod';
import { maskUrl } from '../broker/broker';
import { ConfigError } from '../errors';
import { beatEntrySchema, checkTimezone } from '../beat/schedule';
import { rateLimitSchema } from '../task/options-schema';
import { unknownKeyMessage } from './suggest';
import { checkUrl, urlSchema } from './urls';

const seconds = z.number('must be a number of seconds').positive('must be more than 0 seconds');

// Strict at every level: a misspelt option is refused naming the closest known one, never dropped.
export const configSchema = z.strictObject({
  /** Broker URL, `redis://host:6379/0`. Celery: broker_url. */
  broker: urlSchema('broker'),
  /** Result backend URL, `redis://host:6379/1`; omit to turn results off. Celery: result_backend. */
  backend: urlSchema('backend').nullish(),
  /**
   * State store URL, `redis://host:6379/0`: Lovage's own records (revoked ids, the queue registry, dead
   * letters, worker settings, the task index), under `globalKeyprefix`. Default: the broker's URL when it is
   * Redis, else the result backend's (`stateUrlOf`). No Celery equivalent (Celery keeps revokes in worker
   * memory and `--statedb`).
   */
  state: urlSchema('state').nullish(),
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
    .strictObject({
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
      /** AMQP: `quorum` declares task queues with `x-queue-type: quorum` (Celery 5.5 task_default_queue_type). */
      queueType: z.enum(['classic', 'quorum']).default('classic'),
      /** AMQP: `x-max-priority` of classic task queues (Celery task_queue_max_priority); null: none. */
      maxPriority: z.number().int().min(1).max(255).nullable().default(null),
      /** AMQP: heartbeat seconds on every connection (60). */
      heartbeat: seconds.default(60),
      /** AMQP: seconds a publish waits for RabbitMQ's confirm, or for an alarm to clear, before failing (30). */
      publishTimeout: seconds.default(30),
      /** AMQP: the server's consumer_timeout in seconds (1800, RabbitMQ's default); no delivery is held longer. */
      consumerTimeout: seconds.default(1800),
      /**
       * AMQP, quorum queues: a delivery whose `x-delivery-count` (earlier deliveries that ended unacknowledged:
       * a task that kills its worker, a channel lost mid-task) reaches this goes to the state store's dead
       * letters instead of running again, before RabbitMQ 4.x drops it at its own limit (20 by default, a
       * policy `delivery-limit`). Keep it at or below RabbitMQ's. null: no limit of Lovage's. Celery has none.
       */
      deliveryLimit: z.number().int().min(1).nullable().default(20),
    })
    .default({
      globalKeyprefix: '',
      visibilityTimeout: 30,
      pollInterval: 1,
      maxRetriesPerRequest: 20,
      queueType: 'classic',
      maxPriority: null,
      heartbeat: 60,
      publishTimeout: 30,
      consumerTimeout: 1800,
      deliveryLimit: 20,
    }),
  /** IANA timezone cron schedules are read in. Celery: timezone ('UTC'). */
  timezone: z
    .string()
    .default('UTC')
    .superRefine((tz, ctx) => {
      const problem = checkTimezone(tz);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  /**
   * Periodic tasks `lovage beat` sends, by entry name: `{ task, schedule, args, kwargs, options }`, the
   * schedule in seconds, a cron expression or `crontab({...})`. Celery: beat_schedule ({}).
   */
  beatSchedule: z.record(z.string().min(1), beatEntrySchema).default({}),
  /**
   * Runs that fell due while no beat ran: `once` sends one run on recovery for all of them, `skip` sends
   * none and waits for the next due time. Never a burst. Celery's beat behaves as `once`.
   */
  beatMissedRuns: z.enum(['once', 'skip']).default('once'),
  /** Defaults applied to every task (their per-task options win). Celery: task_* settings. */
  taskDefaults: z
    .strictObject({
      acksLate: z.boolean().optional(),
      maxRetries: z.number().int().min(0).nullable().optional(),
      defaultRetryDelay: z.number().min(0).optional(),
      rateLimit: rateLimitSchema.optional(),
      timeLimit: seconds.nullable().optional(),
      softTimeLimit: seconds.nullable().optional(),
      ignoreResult: z.boolean().optional(),
      trackStarted: z.boolean().optional(),
    })
    .default({}),
});

export type AppConfigInput = z.input<typeof configSchema>;
export type AppConfig = z.output<typeof configSchema>;

/** Celery's setting names, and the option each is here. */
const CELERY_NAMES: Record<string, string> = {
  broker_url: 'broker',
  result_backend: 'backend',
  result_expires: 'resultExpires',
  task_default_queue: 'defaultQueue',
  task_send_sent_event: 'taskSendSentEvent',
  broker_transport_options: 'brokerTransportOptions',
  task_annotations: 'taskDefaults',
  beat_schedule: 'beatSchedule',
  // Options one level down, given at the top.
  globalKeyprefix: 'brokerTransportOptions.globalKeyprefix',
  visibilityTimeout: 'brokerTransportOptions.visibilityTimeout',
  acksLate: 'taskDefaults.acksLate',
  task_acks_late: 'taskDefaults.acksLate',
  maxRetries: 'taskDefaults.maxRetries',
  timeLimit: 'taskDefaults.timeLimit',
  task_time_limit: 'taskDefaults.timeLimit',
  softTimeLimit: 'taskDefaults.softTimeLimit',
  task_soft_time_limit: 'taskDefaults.softTimeLimit',
  rateLimit: 'taskDefaults.rateLimit',
};

function knownKeys(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = configSchema;
  for (const key of path) {
    while (schema instanceof z.ZodDefault || schema instanceof z.ZodOptional) {
      schema = schema.unwrap() as z.ZodType;
    }
    if (schema instanceof z.ZodRecord) {
      // beatSchedule.<entry name>: every key leads to the record's value schema.
      schema = schema.valueType as z.ZodType;
      continue;
    }
    if (!(schema instanceof z.ZodObject)) return [];
    schema = (schema.shape as Record<string, z.ZodType>)[String(key)]!;
  }
  while (schema instanceof z.ZodDefault || schema instanceof z.ZodOptional)
    schema = schema.unwrap() as z.ZodType;
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/**
 * Where the state store lives: the `state` option, else the broker's URL when a state store can live
 * there (Redis), else the result backend's. With none of them, the app refuses to start.
 */
export function stateUrlOf(config: Pick<AppConfig, 'state' | 'broker' | 'backend'>): string {
  if (config.state) return config.state;
  if (checkUrl('state', config.broker) === null) return config.broker;
  if (config.backend && checkUrl('state', config.backend) === null) return config.backend;
  throw new ConfigError(
    `no state store: set the \`state\` option (a redis:// URL) for revoked ids, queues, dead letters, settings and the task index; neither the broker (${maskUrl(config.broker)}) nor a result backend can hold them`,
  );
}

export function parseConfig(input: AppConfigInput): AppConfig {
  const res = configSchema.safeParse(input);
  if (!res.success) {
    const first = res.error.issues[0]!;
    const path = first.path.map(String);
    if (first.code === 'unrecognized_keys') {
      const key = first.keys[0]!;
      throw new ConfigError(
        `invalid app config: ${unknownKeyMessage('option', path, key, knownKeys(first.path), path.length ? {} : CELERY_NAMES)}`,
      );
    }
    throw new ConfigError(`invalid app config at ${path.join('.') || '(root)'}: ${first.message}`);
  }
  return res.data;
}
