import 'server-only';
import { operatorProcedure } from '../../trpc/init';
import { audited } from '../../services/audited';
import { askWorker, inspectOne, type Control } from './ask-worker';
import { resizePoolInput } from './resize-pool.schema';

/** The pool size a worker reports in `inspect stats` (Celery's `pool.max-concurrency`); null if it is silent. */
const poolSize = (control: Control, hostname: string) =>
  inspectOne(control, hostname, 'stats', (stats) => {
    const size = (stats as { pool?: { 'max-concurrency'?: unknown } } | null)?.pool?.['max-concurrency'];
    return typeof size === 'number' ? size : null;
  });

/**
 * Grows or shrinks one worker's pool by remote control (Celery's pool_grow / pool_shrink). The audit entry
 * holds the pool size the worker reported before and after, so the diff reads `concurrency 4 -> 6`.
 */
export const resizePool = operatorProcedure.input(resizePoolInput).mutation(async ({ ctx, input }) => {
  const control = ctx.services.lovage.app.control;
  const change = input.direction === 'grow' ? input.n : -input.n;
  return audited(
    ctx.services,
    ctx.user,
    {
      action: input.direction === 'grow' ? 'pool.grow' : 'pool.shrink',
      target: input.hostname,
      before: { concurrency: await poolSize(control, input.hostname), change },
      reason: input.reason ?? null,
    },
    async () => {
      const { said, reply } = await askWorker(input.hostname, (opts) =>
        input.direction === 'grow' ? control.poolGrow(input.n, opts) : control.poolShrink(input.n, opts),
      );
      return {
        result: {
          message: `${input.hostname}: ${said ?? `pool ${input.direction === 'grow' ? 'grown' : 'shrunk'}`}`,
        },
        after: { concurrency: await poolSize(control, input.hostname), change },
        detail: { reply },
      };
    },
  );
});
