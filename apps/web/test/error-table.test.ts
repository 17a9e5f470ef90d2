/**
 * The console's one table from runtime error codes to tRPC errors: a code it knows is answered with the
 * runtime's message and a hint; an error it does not know is answered generically.
 */
import { describe, expect, it } from 'vitest';
import { MalformedMessageError } from '@lovage/runtime';
import { toTRPCError } from '../src/server/trpc/errors';

describe('toTRPCError', () => {
  it('an unreadable message (a dead letter that cannot be requeued) is 422 with the reason and what to do', () => {
    const err = toTRPCError(new MalformedMessageError('body is not valid JSON'));
    expect(err.code).toBe('UNPROCESSABLE_CONTENT');
    expect(err.message).toBe(
      'body is not valid JSON. The message is kept in the dead letters; delete it, or send the task again.',
    );
  });

  it('an error the table does not know is answered generically', () => {
    const err = toTRPCError(new Error('something nobody expected'));
    expect(err.code).toBe('INTERNAL_SERVER_ERROR');
    expect(err.message).toBe('Internal error');
  });
});
