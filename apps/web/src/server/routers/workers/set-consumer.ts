import 'server-only';
import { operatorProcedure } from '../../trpc/init';
import { audited } from '../../services/audited';
import { queueNamesOf } from '../../presenters/worker-presenter';
import { askWorker, inspectOne, type Control } from './ask-worker';
import { setConsumerInput } from './set-consumer.schema';

/** The queues a worker consumes, from `inspect active_queues` (Lovage and Celery alike). */
const queuesOf = (control: Control, hostname: string) =>
  inspectOne(control, hostname, 'active_queues', queueNamesOf);

/**
 * Makes one worker start or stop consuming a queue by remote control (Celery's add_consumer /
 * cancel_consumer), live until it restarts. The audit entry holds the queues it reported before and after.
 */
export const setConsumer = operatorProcedure.input(setConsumerInput).mutation(async ({ ctx, input }) => {
  const control = ctx.services.lovage.app.control;
  return audited(
    ctx.services,
    ctx.user,
    {
      action: input.action === 'add' ? 'queue.add' : 'queue.cancel',
      target: input.hostname,
      before: { queues: await queuesOf(control, input.hostname) },
      reason: input.reason ?? null,
    },
    async () => {
      const { said, reply } = await askWorker(input.hostname, (opts) =>
        input.action === 'add'
          ? control.addConsumer(input.queue, opts)
          : control.cancelConsumer(input.queue, opts),
      );
      return {
        result: { message: `${input.hostname}: ${said ?? `${input.action} consumer ${input.queue}`}` },
        after: { queues: await queuesOf(control, input.hostname) },
        detail: { queue: input.queue, reply },
      };
    },
  );
});
