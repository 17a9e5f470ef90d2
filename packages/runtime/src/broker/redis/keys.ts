/**
 * Key and channel names of the Redis broker and the Redis state store (one table, so the two agree when they
 * share a Redis). Queue lists and bindings follow kombu's layout, so Celery producers and consumers on the
 * same database see the same queues; Lovage's own structures live under `lovage:`. Every name starts with
 * the transport's `globalKeyprefix` (kombu: global_keyprefix).
 */
export const SEP = '\x06\x16';
/** kombu's priority_steps: a message of priority p goes to the largest step <= p. */
export const PRIORITY_STEPS = [0, 3, 6, 9] as const;

export class RedisKeys {
  constructor(
    readonly prefix: string,
    readonly db: number,
  ) {}

  /** The list holding a queue's messages of one priority step. */
  bucket(queue: string, step: number): string {
    return step === 0 ? `${this.prefix}${queue}` : `${this.prefix}${queue}${SEP}${step}`;
  }

  bucketFor(queue: string, priority: number): string {
    const p = Math.min(9, Math.max(0, Math.trunc(priority)));
    let step = 0;
    for (const s of PRIORITY_STEPS) if (s <= p) step = s;
    return this.bucket(queue, step);
  }

  buckets(queue: string): string[] {
    return PRIORITY_STEPS.map((s) => this.bucket(queue, s));
  }

  binding(queue: string): string {
    return `${this.prefix}_kombu.binding.${queue}`;
  }

  bindingMember(queue: string): string {
    return `${queue}${SEP}${SEP}${queue}`;
  }

  get workers(): string {
    return `${this.prefix}lovage:workers`;
  }

  inflightIndex(consumerId: string): string {
    return `${this.prefix}lovage:inflight-index:${consumerId}`;
  }

  /** Set for a day when a reaper returned a consumer's messages, so the consumer learns it if it lives on. */
  reaped(consumerId: string): string {
    return `${this.prefix}lovage:reaped:${consumerId}`;
  }

  inflight(consumerId: string, queue: string, step: number): string {
    return `${this.prefix}lovage:inflight:${consumerId}:${queue}:${step}`;
  }

  get revoked(): string {
    return `${this.prefix}lovage:revoked`;
  }

  dead(queue: string): string {
    return `${this.prefix}lovage:dead:${queue}`;
  }

  /** Every queue published to through Lovage (a set), so listing queues never scans the keyspace. */
  get queues(): string {
    return `${this.prefix}lovage:queues`;
  }

  /** Queues paused for every worker (a hash: queue -> JSON `QueuePause`). */
  get pausedQueues(): string {
    return `${this.prefix}lovage:paused-queues`;
  }

  /** Workers that started while a queue was paused and left it out (a set of hostnames). */
  pauseWaiting(queue: string): string {
    return `${this.prefix}lovage:paused-queues:waiting:${queue}`;
  }

  /** The queues that have dead letters (a set), so listing them never scans the keyspace. */
  get deadQueues(): string {
    return `${this.prefix}lovage:dead-queues`;
  }

  /** kombu's fanout channel: `/<db>.<exchange>` plus `/<routing key>` when there is one. */
  fanout(exchange: string, routingKey = ''): string {
    return `${this.prefix}/${this.db}.${exchange}${routingKey ? `/${routingKey}` : ''}`;
  }
}
