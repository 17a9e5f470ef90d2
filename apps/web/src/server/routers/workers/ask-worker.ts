import 'server-only';
import { TRPCError } from '@trpc/server';
import type { Services } from '../../services/services';
import { maskSecrets } from '../../presenters/mask';

export type Control = Services['lovage']['app']['control'];
type Replies = Awaited<ReturnType<Control['broadcast']>>;

/** How long an operator action waits for the one worker it addresses. */
export const ASK_TIMEOUT_S = 2;

/**
 * One worker's answer to a control command sent to it alone: what it said (`ok`) and its reply, masked.
 * No answer is GATEWAY_TIMEOUT; an `error` reply is BAD_REQUEST with the worker's words.
 */
export async function askWorker(
  hostname: string,
  send: (opts: { destination: string[]; timeout: number }) => Promise<Replies>,
): Promise<{ said: string | null; reply: Record<string, unknown> }> {
  const replies = await send({ destination: [hostname], timeout: ASK_TIMEOUT_S });
  const reply = Object.assign({}, ...replies)[hostname] as Record<string, unknown> | undefined;
  if (!reply) {
    throw new TRPCError({
      code: 'GATEWAY_TIMEOUT',
      message: `${hostname} did not answer within ${ASK_TIMEOUT_S} s.`,
    });
  }
  if (typeof reply.error === 'string') {
    throw new TRPCError({ code: 'BAD_REQUEST', message: `${hostname}: ${reply.error}` });
  }
  return { said: typeof reply.ok === 'string' ? reply.ok : null, reply: maskSecrets(reply) };
}

/** Something a worker reports through `inspect`, read from its reply; null when it is silent. */
export async function inspectOne<T>(
  control: Control,
  hostname: string,
  method: 'stats' | 'active_queues',
  read: (reply: unknown) => T | null,
): Promise<T | null> {
  const replies = await control.inspect(method, { destination: [hostname], timeout: 1 });
  return hostname in replies ? read(replies[hostname]) : null;
}
