import { TRPCError, type TRPC_ERROR_CODE_KEY } from '@trpc/server';

/** A refusal about one field, shown under it in the form (the error formatter reads the cause's issues). */
export function fieldError(code: TRPC_ERROR_CODE_KEY, field: string, message: string): TRPCError {
  return new TRPCError({
    code,
    message,
    cause: Object.assign(new Error(message), { issues: [{ path: [field], message }] }),
  });
}
