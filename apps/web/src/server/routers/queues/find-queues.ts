import 'server-only';
import { protectedProcedure } from '../../trpc/init';
import { heldPerQueue, queueNamesOf } from '../../presenters/worker-presenter';

export interface QueueView {
  name: string;
  /** Messages waiting (every priority), not yet taken by a worker: the broker's ready count. */
  waiting: number;
  /**
   * Delivered and not yet acknowledged. `broker`: the broker's own count (Redis: the consumers' in-flight
   * lists). `workers`: the broker cannot tell (RabbitMQ over AMQP), so the tasks the answering workers
   * report holding unacknowledged (`heldPerQueue`), a lower bound.
   */
  unacked: { count: number; from: 'broker' | 'workers' };
  /** Consumers the broker has attached to the queue (RabbitMQ); null where it has no such count (Redis). */
  brokerConsumers: number | null;
  /** Workers that answered `active_queues` with this queue. */
  consumers: string[];
  deadLetters: number;
  /** Paused for every worker (console or `pauseQueue`): by whom, why, since when (epoch ms); else null. */
  paused: { by: string; reason: string; at: number } | null;
}

/**
 * Every queue the console can know of: published to through Lovage, consumed by a worker that answered
 * `active_queues` (Celery's too), seen in the task index or holding dead letters; with its backlog (ready
 * and unacknowledged) and consumers.
 */
export const findQueues = protectedProcedure.query(async ({ ctx }): Promise<QueueView[]> => {
  const { lovage } = ctx.services;
  const { broker, state } = lovage.app;
  const [known, indexed, dead, active, paused] = await Promise.all([
    state.queues.list(),
    lovage.taskIndex.queues(),
    state.deadLetters.queues(),
    lovage.inspectEveryWorker('active_queues'),
    state.queues.paused(),
  ]);
  const pauses = new Map(paused.map((p) => [p.queue, { by: p.by, reason: p.reason, at: p.at }]));
  const consumers = new Map<string, string[]>();
  for (const [hostname, reply] of Object.entries(active)) {
    for (const name of queueNamesOf(reply) ?? []) {
      consumers.set(name, [...(consumers.get(name) ?? []), hostname]);
    }
  }
  const deadCount = new Map(dead.map((d) => [d.queue, d.count]));
  const names = [
    ...new Set([...known, ...indexed, ...deadCount.keys(), ...consumers.keys(), ...pauses.keys()]),
  ];
  const stats = await Promise.all(names.map((q) => broker.queueStats(q)));
  // Asked only when the broker cannot count unacknowledged messages itself.
  const held = stats.some((s) => s.unacked === null)
    ? heldPerQueue(
        await Promise.all(
          (['active', 'reserved', 'scheduled'] as const).map((m) => lovage.inspectEveryWorker(m)),
        ),
      )
    : new Map<string, number>();
  return names
    .map((name, i) => {
      const s = stats[i]!;
      return {
        name,
        waiting: s.ready,
        unacked:
          s.unacked === null
            ? { count: held.get(name) ?? 0, from: 'workers' as const }
            : { count: s.unacked, from: 'broker' as const },
        brokerConsumers: s.consumers,
        consumers: (consumers.get(name) ?? []).sort(),
        deadLetters: deadCount.get(name) ?? 0,
        paused: pauses.get(name) ?? null,
      };
    })
    .sort((a, b) => b.waiting - a.waiting || a.name.localeCompare(b.name));
});
