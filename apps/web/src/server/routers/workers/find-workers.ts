import 'server-only';
import { protectedProcedure } from '../../trpc/init';
import { presentWorker } from '../../presenters/worker-presenter';

/**
 * Workers from the index (events) and their live `stats` (remote control, one second at most; it returns
 * as soon as every worker the index believes alive has answered).
 */
export const findWorkers = protectedProcedure.query(async ({ ctx }) => {
  const { taskIndex, app } = ctx.services.lovage;
  const records = await taskIndex.workers();
  const alive = records.filter((r) => r.alive).length;
  const stats = await app.control
    .inspect('stats', { timeout: 1, ...(alive > 0 ? { limit: alive } : {}) })
    .catch(() => ({}) as Record<string, unknown>);
  const byHost = new Map(records.map((r) => [r.hostname, r]));
  const hostnames = [...new Set([...byHost.keys(), ...Object.keys(stats)])].sort();
  return hostnames.map((h) => presentWorker(h, byHost.get(h), stats[h]));
});
