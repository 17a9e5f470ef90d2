import { TRPCError } from '@trpc/server';
import { expect } from 'vitest';

/** Awaits a procedure call that must fail with this tRPC code; returns the error for further checks. */
export async function rejects(p: Promise<unknown>, code: TRPCError['code']): Promise<TRPCError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TRPCError);
  expect((err as TRPCError).code).toBe(code);
  return err as TRPCError;
}
