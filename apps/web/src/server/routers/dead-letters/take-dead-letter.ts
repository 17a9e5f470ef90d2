import 'server-only';
import { TRPCError } from '@trpc/server';
import type { AuditAction } from '../audit/audit-actions';
import { operatorProcedure } from '../../trpc/init';
import { audited } from '../../services/audited';
import { deadLetterRefInput } from './find-dead-letters.schema';

/**
 * Requeue (the message goes back on its queue, behind the others, through the broker; byte for byte when
 * the state store shares the broker's Redis) or delete one dead letter, audited with what it was. Another operator may have taken it first: then NOT_FOUND, audited too.
 */
export function takeDeadLetterProcedure(mode: 'requeue' | 'delete') {
  const action: AuditAction = mode === 'requeue' ? 'deadletter.requeue' : 'deadletter.delete';
  return operatorProcedure.input(deadLetterRefInput).mutation(async ({ ctx, input }) => {
    const { broker, state } = ctx.services.lovage.app;
    return audited(
      ctx.services,
      ctx.user,
      {
        action,
        target: `${input.queue} ${input.id}`,
        before: { queue: input.queue, id: input.id, deadLetter: true },
        reason: input.reason ?? null,
      },
      async () => {
        const taken =
          mode === 'requeue'
            ? await state.deadLetters.requeue(input.queue, input.id, broker)
            : await state.deadLetters.delete(input.queue, input.id);
        if (!taken) {
          throw new TRPCError({
            code: 'NOT_FOUND',
            message: `No dead letter ${input.id} in ${input.queue}: someone requeued or deleted it already.`,
          });
        }
        return {
          result: {
            message:
              mode === 'requeue'
                ? `Put back on ${input.queue}, behind the waiting messages.`
                : 'Deleted for good.',
          },
          after: { queue: input.queue, id: input.id, deadLetter: false, requeued: mode === 'requeue' },
        };
      },
    );
  });
}
