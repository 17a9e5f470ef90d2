import 'server-only';
import { TRPCError } from '@trpc/server';
import { operatorProcedure } from '../../trpc/init';
import { audited } from '../../services/audited';
import { maskSecrets } from '../../presenters/mask';
import { resizePoolInput } from './resize-pool.schema';

/** Grows or shrinks one worker's pool by remote control (Celery's pool_grow / pool_shrink). */
export const resizePool = operatorProcedure.input(resizePoolInput).mutation(async ({ ctx, input }) => {
  const control = ctx.services.lovage.app.control;
  return audited(
    ctx.services,
    ctx.user,
    {
      action: input.direction === 'grow' ? 'pool.grow' : 'pool.shrink',
      target: input.hostname,
      before: { n: input.n },
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
        after: maskSecrets(reply),
      };
    },
  );
});
