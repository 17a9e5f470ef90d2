/**
 * The worker's side of the pidbox: commands addressed to this worker are looked up in the registry
 * (inspect and control kept apart), run, and answered on the caller's reply queue.
 */
import {
  addressedTo,
  decodeControlRequest,
  encodeControlReply,
  PIDBOX_EXCHANGE,
  REPLY_EXCHANGE,
  type ControlRequest,
} from '../../control/mailbox';
import type { WorkerControl } from '../types';
import { CONTROL_COMMANDS } from './control';
import { INSPECT_COMMANDS } from './inspect';
import { nok, type Command } from './registry';

export { type Command, type CommandKind } from './registry';

/** Every command this worker answers, by method name. */
export const COMMANDS: Readonly<Record<string, Command>> = { ...INSPECT_COMMANDS, ...CONTROL_COMMANDS };

/** The reply payload to one request; `undefined` sends none. Unknown methods get Celery's KeyError. */
export async function handleControl(w: WorkerControl, req: ControlRequest): Promise<unknown> {
  const command = Object.hasOwn(COMMANDS, req.method) ? COMMANDS[req.method] : undefined;
  if (!command) return nok(`KeyError('${req.method}')`);
  return command.run(w, req.arguments);
}

/**
 * Answers the pidbox until the returned function is called. With `all` false only `revoke` is obeyed
 * (revokes must reach every worker; the rest of remote control is off).
 */
export function listenForControl(w: WorkerControl, all: boolean): Promise<() => Promise<void>> {
  return w.app.broker.subscribe(PIDBOX_EXCHANGE, '', ({ message }) => {
    const req = decodeControlRequest(message);
    if (!req || !addressedTo(req, w.hostname)) return;
    if (req.method === 'revoke' || all) void answer(w, req);
  });
}

async function answer(w: WorkerControl, req: ControlRequest): Promise<void> {
  let reply: unknown;
  try {
    reply = await handleControl(w, req);
  } catch (err) {
    const e = err as Error;
    reply = { error: `${e.name ?? 'Error'}(${JSON.stringify(e.message ?? String(err))})` };
  }
  if (!req.reply_to || reply === undefined) return;
  try {
    await w.app.broker.publishDirect(
      // The requester names its reply exchange; Celery's is always the direct `reply.celery.pidbox`.
      req.reply_to.exchange ? { name: req.reply_to.exchange, type: 'direct' } : REPLY_EXCHANGE,
      req.reply_to.routing_key,
      encodeControlReply(w.hostname, reply, req.ticket),
    );
  } catch (err) {
    w.log.warn({ err: (err as Error).message, method: req.method }, 'could not reply to a control command');
  }
}
