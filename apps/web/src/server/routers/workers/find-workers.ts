import 'server-only';
import { protectedProcedure } from '../../trpc/init';
import { presentWorker } from '../../presenters/worker-presenter';

/**
 * Workers from the index (events) and their live `stats` and `active_queues` (remote control, asked at once,
 * one second at most; each returns as soon as every worker the index believes alive has answered).
 */
export const findWorkers = protectedProcedure.query(async ({ ctx }) => {
  const { taskIndex, app } = ctx.services.lovage;
  const records = await taskIndex.workers();
  const alive = records.filter((r) => r.alive).length;
  const ask = (method: 'stats' | 'active_queues') =>
    app.control
      .inspect(method, { timeout: 1, ...(alive > 0 ? { limit: alive } : {}) })
      .catch(() => ({}) as Record<string, unknown>);
  const [stats, queues] = await Promise.all([ask('stats'), ask('active_queues')]);
  const byHost = new Map(records.map((r) => [r.hostname, r]));
  const hostnames = [...new Set([...byHost.keys(), ...Object.keys(stats)])].sort();
  return hostnames.map((h) => presentWorker(h, byHost.get(h), stats[h], queues[h]));
});
