/**
 * Dead-lettering and requeueing across a broker and a state store, whichever they are. On one Redis the
 * broker's consumer moves a message into the dead letters in one atomic step; a broker that cannot
 * (capability `atomicDeadLetter` false) or a state store elsewhere gets put-then-ack: the entry is kept
 * first, then the delivery acknowledged, so a crash between the two leaves the message both in the dead
 * letters and back on its queue (seen again, dead-lettered again: at least once, never lost).
 */
import { randomUUID } from 'node:crypto';
import type { Broker, Consumer, Delivery } from '../broker/broker';
import { MalformedMessageError } from '../errors';
import { republishable } from '../protocol/message';
import type { DeadLetter, DeadLetterStore, StateStore } from './state';

/** Moves a delivery to the dead letters with `reason`; the entry's id, or null when it was no longer held. */
export async function deadLetterDelivery(
  broker: Broker,
  state: StateStore,
  consumer: Consumer,
  consumerId: string,
  delivery: Delivery,
  reason: string,
): Promise<string | null> {
  if (state.sharesBroker && broker.capabilities.atomicDeadLetter) {
    return consumer.deadLetter(delivery, reason);
  }
  const entry: DeadLetter = {
    id: randomUUID(),
    queue: delivery.queue,
    reason,
    message: delivery.message,
    raw: delivery.raw,
    at: Date.now(),
    consumer: consumerId,
  };
  await state.deadLetters.put(entry);
  if (!(await consumer.ack(delivery))) {
    // The broker took the message back meanwhile: it is in its queue again and will be seen (and
    // dead-lettered) again, so this entry would be its double.
    await state.deadLetters.take(delivery.queue, entry.id);
    return null;
  }
  return entry.id;
}

/**
 * Requeue through the broker: take the entry, publish its message, and keep the entry again if the
 * publish fails. An unreadable message cannot be published again: the entry stays and this throws.
 */
export async function requeueByPublish(
  letters: DeadLetterStore,
  broker: Broker,
  queue: string,
  id: string,
): Promise<boolean> {
  const entry = await letters.take(queue, id);
  if (!entry) return false;
  if (!entry.message) {
    await letters.put(entry);
    throw new MalformedMessageError(
      `dead letter ${id} cannot be requeued: its message could not be read (delete it instead)`,
    );
  }
  try {
    await broker.publish(queue, republishable(entry.message));
  } catch (err) {
    await letters.put(entry);
    throw err;
  }
  return true;
}
