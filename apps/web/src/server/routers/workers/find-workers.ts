import 'server-only';
import { protectedProcedure } from '../../trpc/init';
import { presentWorker } from '../../presenters/worker-presenter';

/**
 * Workers from the index (events) and their live `stats`, `active_queues` and `registered` (remote control, asked at once,
 * one second at most; each returns as soon as every worker the index believes alive has answered).
 */
export const findWorkers = protectedProcedure.query(async ({ ctx }) => {
  const { lovage } = ctx.services;
  const records = await lovage.taskIndex.workers();
  const [stats, queues, registered] = await Promise.all([
    lovage.inspectEveryWorker('stats', records),
    lovage.inspectEveryWorker('active_queues', records),
    lovage.inspectEveryWorker('registered', records),
  ]);
  const byHost = new Map(records.map((r) => [r.hostname, r]));
  const hostnames = [...new Set([...byHost.keys(), ...Object.keys(stats)])].sort();
  return hostnames.map((h) => presentWorker(h, byHost.get(h), stats[h], queues[h], registered[h]));
});
