import 'server-only';
import { TRPCError } from '@trpc/server';
import { operatorProcedure } from '../../trpc/init';
import type { Services } from '../../services/services';
import { audited } from '../../services/audited';
import { maskSecrets } from '../../presenters/mask';
import { resizePoolInput } from './resize-pool.schema';

type Control = Services['lovage']['app']['control'];

/** The pool size a worker reports in `inspect stats` (Celery's `pool.max-concurrency`); null if it is silent. */
async function poolSize(control: Control, hostname: string): Promise<number | null> {
  const stats = (await control.inspect('stats', { destination: [hostname], timeout: 1 }))[hostname] as
    { pool?: { 'max-concurrency'?: unknown } } | undefined;
  const size = stats?.pool?.['max-concurrency'];
  return typeof size === 'number' ? size : null;
}

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
      const opts = { destination: [input.hostname], timeout: 2 };
      const replies =
        input.direction === 'grow'
          ? await control.poolGrow(input.n, opts)
          : await control.poolShrink(input.n, opts);
      const reply = Object.assign({}, ...replies)[input.hostname] as Record<string, unknown> | undefined;
      if (!reply) {
        throw new TRPCError({
          code: 'GATEWAY_TIMEOUT',
          message: `${input.hostname} did not answer within 2 s.`,
        });
      }
      if (typeof reply.error === 'string') {
        throw new TRPCError({ code: 'BAD_REQUEST', message: `${input.hostname}: ${reply.error}` });
      }
      const said =
        typeof reply.ok === 'string' ? reply.ok : `pool ${input.direction === 'grow' ? 'grown' : 'shrunk'}`;
      return {
        result: { message: `${input.hostname}: ${said}` },
        after: { concurrency: await poolSize(control, input.hostname), change },
        detail: { reply: maskSecrets(reply) },
      };
    },
  );
});
