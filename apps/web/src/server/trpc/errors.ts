import 'server-only';
import { TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import type { ErrorCode } from '@lovage/runtime';
import { LovageError, maskUrl } from '../runtime';

/**
 * The one table from runtime error codes to tRPC errors. `expose` says whether the runtime's message is
 * fit for the operator (it names what is wrong and carries no secrets); otherwise a generic message is
 * sent and the error is logged.
 */
const TABLE: Partial<Record<ErrorCode, { code: TRPC_ERROR_CODE_KEY; expose: boolean }>> = {
  SETTINGS_INVALID: { code: 'BAD_REQUEST', expose: true },
  SETTINGS_CONFLICT: { code: 'CONFLICT', expose: true },
  CONTROL_ERROR: { code: 'BAD_GATEWAY', expose: true },
  BROKER_UNAVAILABLE: { code: 'SERVICE_UNAVAILABLE', expose: true },
  BROKER_PUBLISH_FAILED: { code: 'SERVICE_UNAVAILABLE', expose: true },
  ENCODE_ERROR: { code: 'BAD_REQUEST', expose: true },
  TASK_NOT_REGISTERED: { code: 'NOT_FOUND', expose: true },
  RESULT_TIMEOUT: { code: 'TIMEOUT', expose: true },
  BACKEND_DISABLED: { code: 'PRECONDITION_FAILED', expose: true },
  CONFIG_INVALID: { code: 'INTERNAL_SERVER_ERROR', expose: false },
};

/** ioredis gives up on a command (Redis down) with these. */
function isRedisUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    code === 'ECONNREFUSED' ||
    code === 'ENOTFOUND' ||
    code === 'ETIMEDOUT' ||
    /Connection is closed|Stream isn't writeable|ECONNREFUSED/.test(err.message)
  );
}

/** PostgreSQL refused a serializable transaction that raced another (Prisma P2034 / the adapter's name). */
function isWriteConflict(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    (err as { code?: unknown }).code === 'P2034' ||
    /TransactionWriteConflict/.test(`${err.name} ${err.message}`)
  );
}

/** Turns anything a procedure threw into the TRPCError the client sees. */
export function toTRPCError(err: unknown, context: { brokerUrl: string }): TRPCError {
  if (err instanceof TRPCError) return err;
  if (err instanceof LovageError) {
    const entry = TABLE[err.code];
    if (entry) {
      return new TRPCError({
        code: entry.code,
        message: entry.expose ? err.message : 'The queue runtime failed; see the console log.',
        cause: err,
      });
    }
  }
  if (isRedisUnreachable(err) || (err instanceof LovageError && isRedisUnreachable(err.cause))) {
    return new TRPCError({
      code: 'SERVICE_UNAVAILABLE',
      message:
        `Redis is not reachable at ${maskUrl(context.brokerUrl)}. Start it (redis-server, or ` +
        '`docker compose up -d redis`) or point LOVAGE_BROKER_URL at it.',
      cause: err,
    });
  }
  if (isWriteConflict(err)) {
    return new TRPCError({
      code: 'CONFLICT',
      message: 'Someone changed the same thing at the same moment; look again and retry.',
      cause: err,
    });
  }
  console.error('[lovage-web] unexpected error', err);
  return new TRPCError({ code: 'INTERNAL_SERVER_ERROR', message: 'Internal error', cause: err });
}
