import 'server-only';
import type { TRPCError } from '@trpc/server';
import { toTRPCError } from '../trpc/errors';
import type { AuditOutcome } from '../routers/audit/audit-actions';
import { recordAudit, type Actor, type AuditRecord } from './audit';
import type { Services } from './services';

export interface ActionDone<T> {
  result: T;
  after?: unknown;
  detail?: unknown;
  outcome?: Exclude<AuditOutcome, 'error'>;
}

/**
 * Runs an operator action and appends its audit entry with the outcome: `ok`/`partial` and what it did,
 * or `error` and the message the operator saw (the error is then thrown, mapped through the error table).
 */
export async function audited<T>(
  services: Services,
  actor: Actor,
  entry: Omit<AuditRecord, 'actor' | 'outcome' | 'after' | 'detail'>,
  run: () => Promise<ActionDone<T>>,
): Promise<T> {
  let done: ActionDone<T>;
  try {
    done = await run();
  } catch (err) {
    const mapped: TRPCError = toTRPCError(err);
    await recordAudit(services.prisma, {
      ...entry,
      actor,
      outcome: 'error',
      detail: { error: mapped.message },
    });
    throw mapped;
  }
  await recordAudit(services.prisma, {
    ...entry,
    actor,
    outcome: done.outcome ?? 'ok',
    after: done.after,
    detail: done.detail,
  });
  return done.result;
}
