import 'server-only';
import type { QueuePause } from '@lovage/runtime';
import { TRPCError } from '@trpc/server';
import { pauseQueue, resumeQueue } from '../../runtime';
import { operatorProcedure } from '../../trpc/init';
import { audited } from '../../services/audited';
import { pauseQueueInput, resumeQueueInput } from './pause-queue.schema';

/** The pause as the audit keeps it (the workers it stopped included). */
const recorded = (p: QueuePause | null) =>
  p && { by: p.by, reason: p.reason, at: new Date(p.at).toISOString(), workers: p.workers };

/**
 * Pauses a queue for every worker, Lovage's and Celery's (remote control `cancel_consumer`), recorded so
 * that Lovage workers started later leave it out; the queue's row says who paused it, when and why.
 * Audited with the pause it replaced (if any) and the workers that stopped.
 */
export const pauseQueueProcedure = operatorProcedure
  .input(pauseQueueInput)
  .mutation(async ({ ctx, input }) => {
    const { app } = ctx.services.lovage;
    const before = await app.state.queues.pauseOf(input.queue);
    return audited(
      ctx.services,
      ctx.user,
      {
        action: 'queue.pause',
        target: input.queue,
        before: { paused: recorded(before) },
        reason: input.reason,
      },
      async () => {
        const { pause, replies } = await pauseQueue(app, input.queue, {
          by: ctx.user.email,
          reason: input.reason,
        });
        const stopped = replies.flatMap((r) =>
          Object.entries(r)
            .filter(([, v]) => typeof v === 'object' && v !== null && 'ok' in v)
            .map(([hostname]) => hostname),
        );
        return {
          result: {
            message:
              `Paused ${input.queue}: ` +
              (stopped.length
                ? `${stopped.join(', ')} stopped consuming it.`
                : 'no worker was consuming it; workers started later leave it out.'),
          },
          after: { paused: recorded(pause) },
          detail: { stopped },
        };
      },
    );
  });

/** Resumes a paused queue: the workers the pause stopped, and Lovage workers started meanwhile, consume it. */
export const resumeQueueProcedure = operatorProcedure
  .input(resumeQueueInput)
  .mutation(async ({ ctx, input }) => {
    const { app } = ctx.services.lovage;
    const before = await app.state.queues.pauseOf(input.queue);
    if (!before) {
      throw new TRPCError({ code: 'NOT_FOUND', message: `queue ${input.queue} is not paused` });
    }
    return audited(
      ctx.services,
      ctx.user,
      {
        action: 'queue.resume',
        target: input.queue,
        before: { paused: recorded(before) },
        reason: input.reason ?? null,
      },
      async () => {
        const resumed = await resumeQueue(app, input.queue);
        const workers = resumed?.workers ?? [];
        return {
          result: {
            message:
              `Resumed ${input.queue}` +
              (workers.length ? `: ${workers.join(', ')} asked to consume it again.` : '.'),
          },
          after: { paused: null },
          detail: { workers, replies: resumed?.replies ?? [] },
        };
      },
    );
  });
