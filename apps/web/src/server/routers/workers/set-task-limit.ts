import 'server-only';
import { TRPCError } from '@trpc/server';
import { operatorProcedure } from '../../trpc/init';
import { audited } from '../../services/audited';
import { maskSecrets } from '../../presenters/mask';
import { setTaskLimitInput } from './set-task-limit.schema';

/**
 * Changes one task's rate limit or time limits on every running worker by remote control (Celery's
 * rate_limit / time_limit). Live only: a worker that restarts goes back to the stored settings.
 * Applied nowhere (no answer, or every worker refused) is an error; applied by some is `partial`.
 */
export const setTaskLimit = operatorProcedure.input(setTaskLimitInput).mutation(async ({ ctx, input }) => {
  const control = ctx.services.lovage.app.control;
  const after =
    input.kind === 'rate'
      ? { rateLimit: input.rateLimit }
      : { timeLimit: input.hard, softTimeLimit: input.soft };
  return audited(
    ctx.services,
    ctx.user,
    {
      action: input.kind === 'rate' ? 'limit.rate' : 'limit.time',
      target: input.taskName,
      reason: input.reason ?? null,
    },
    async () => {
      const opts = await ctx.services.lovage.everyWorker();
      const replies =
        input.kind === 'rate'
          ? await control.rateLimit(input.taskName, input.rateLimit, opts)
          : await control.timeLimit(input.taskName, { hard: input.hard, soft: input.soft }, opts);
      const merged = Object.assign({}, ...replies) as Record<string, Record<string, unknown>>;
      const hosts = Object.keys(merged);
      const failed = hosts.filter((h) => typeof merged[h]?.error === 'string');
      if (hosts.length === 0)
        throw new TRPCError({
          code: 'GATEWAY_TIMEOUT',
          message: 'No running worker answered: nothing changed.',
        });
      const message =
        `${hosts.length - failed.length} of ${hosts.length} workers applied it` +
        (failed.length
          ? `; failed: ${failed.map((h) => `${h} (${String(merged[h]!.error)})`).join(', ')}`
          : '') +
        '.';
      if (failed.length === hosts.length) throw new TRPCError({ code: 'BAD_REQUEST', message });
      const outcome = failed.length > 0 ? ('partial' as const) : ('ok' as const);
      return {
        result: { message, outcome, replies: maskSecrets(merged) },
        after,
        outcome,
        detail: { replies: merged },
      };
    },
  );
});
