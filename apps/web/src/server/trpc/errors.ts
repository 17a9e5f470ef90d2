import 'server-only';
import { TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';
import type { ErrorCode } from '@lovage/runtime';
import { LovageError } from '../runtime';

/** What the operator can do about a store the console cannot reach (the runtime's message names its URL). */
const fix = (variable: string) => `Start it, or point ${variable} at it.`;

/**
 * The one table from runtime error codes to tRPC errors, and the only place the console recognises a
 * failure: the runtime's adapters turn their client libraries' errors into these codes. `expose` says
 * whether the runtime's message is fit for the operator (it names what is wrong and carries no secrets);
 * otherwise a generic message is sent and the error is logged. `hint` follows the message.
 */
const TABLE: Partial<Record<ErrorCode, { code: TRPC_ERROR_CODE_KEY; expose: boolean; hint?: string }>> = {
  SETTINGS_INVALID: { code: 'BAD_REQUEST', expose: true },
  SETTINGS_CONFLICT: { code: 'CONFLICT', expose: true },
  CONTROL_ERROR: { code: 'BAD_GATEWAY', expose: true },
  BROKER_UNAVAILABLE: { code: 'SERVICE_UNAVAILABLE', expose: true, hint: fix('LOVAGE_BROKER_URL') },
  BROKER_PUBLISH_FAILED: { code: 'SERVICE_UNAVAILABLE', expose: true },
  STATE_UNAVAILABLE: {
    code: 'SERVICE_UNAVAILABLE',
    expose: true,
    hint: fix('LOVAGE_STATE_URL (by default the broker URL)'),
  },
  BACKEND_UNAVAILABLE: { code: 'SERVICE_UNAVAILABLE', expose: true, hint: fix('LOVAGE_RESULT_BACKEND') },
  ENCODE_ERROR: { code: 'BAD_REQUEST', expose: true },
  // A dead letter that cannot be decoded cannot be published again (a state store apart from the broker
  // requeues through the broker's publish); the letter is kept and the reason shown.
  MESSAGE_MALFORMED: {
    code: 'UNPROCESSABLE_CONTENT',
    expose: true,
    hint: 'The message is kept in the dead letters; delete it, or send the task again.',
  },
  TASK_NOT_REGISTERED: { code: 'NOT_FOUND', expose: true },
  RESULT_TIMEOUT: { code: 'TIMEOUT', expose: true },
  BACKEND_DISABLED: { code: 'PRECONDITION_FAILED', expose: true },
  CONFIG_INVALID: { code: 'INTERNAL_SERVER_ERROR', expose: false },
};

function withHint(message: string, hint: string | undefined): string {
  if (!hint) return message;
  return `${message}${/[.!?]$/.test(message) ? '' : '.'} ${hint}`;
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
export function toTRPCError(err: unknown): TRPCError {
  if (err instanceof TRPCError) return err;
  if (err instanceof LovageError) {
    const entry = TABLE[err.code];
    if (entry) {
      return new TRPCError({
        code: entry.code,
        message: entry.expose
          ? withHint(err.message, entry.hint)
          : 'The queue runtime failed; see the console log.',
        cause: err,
      });
    }
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
