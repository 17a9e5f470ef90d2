import 'server-only';
import { operatorProcedure } from '../../trpc/init';
import { audited } from '../../services/audited';
import { maskSecrets } from '../../presenters/mask';
import { setTaskLimitInput } from './set-task-limit.schema';

/**
 * Changes one task's rate limit or time limits on every running worker by remote control (Celery's
 * rate_limit / time_limit). Live only: a worker that restarts goes back to the stored settings.
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
      const message =
        hosts.length === 0
          ? 'No running worker answered.'
          : `${hosts.length - failed.length} of ${hosts.length} workers applied it` +
            (failed.length
              ? `; failed: ${failed.map((h) => `${h} (${String(merged[h]!.error)})`).join(', ')}`
              : '') +
            '.';
      return {
        result: { message, replies: maskSecrets(merged) },
        after,
        outcome: failed.length > 0 ? 'partial' : 'ok',
        detail: { replies: merged },
      };
    },
  );
});
