import 'server-only';
import { protectedProcedure } from '../../trpc/init';
import { queueNamesOf } from '../../presenters/worker-presenter';

export interface QueueView {
  name: string;
  /** Messages waiting (every priority), not yet taken by a worker. */
  waiting: number;
  /** Workers that answered `active_queues` with this queue. */
  consumers: string[];
  deadLetters: number;
}

/**
 * Every queue the console can know of: published to through Lovage, consumed by a worker that answered
 * `active_queues` (Celery's too), seen in the task index or holding dead letters; with its backlog.
 */
export const findQueues = protectedProcedure.query(async ({ ctx }): Promise<QueueView[]> => {
  const { lovage } = ctx.services;
  const { broker, state } = lovage.app;
  const [known, indexed, dead, active] = await Promise.all([
    state.queues.list(),
    lovage.taskIndex.queues(),
    state.deadLetters.queues(),
    lovage.inspectEveryWorker('active_queues'),
  ]);
  const consumers = new Map<string, string[]>();
  for (const [hostname, reply] of Object.entries(active)) {
    for (const name of queueNamesOf(reply) ?? []) {
      consumers.set(name, [...(consumers.get(name) ?? []), hostname]);
    }
  }
  const deadCount = new Map(dead.map((d) => [d.queue, d.count]));
  const names = [...new Set([...known, ...indexed, ...deadCount.keys(), ...consumers.keys()])];
  const waiting = await Promise.all(names.map((q) => broker.queueLength(q)));
  return names
    .map((name, i) => ({
      name,
      waiting: waiting[i]!,
      consumers: (consumers.get(name) ?? []).sort(),
      deadLetters: deadCount.get(name) ?? 0,
    }))
    .sort((a, b) => b.waiting - a.waiting || a.name.localeCompare(b.name));
});
