/**
 * Receives every event on the `celeryev` exchange (Celery's `celery events` binds `#`): single events and
 * `task.multi` batches alike, from Lovage and Celery workers and clients. A message that cannot be read is
 * counted and skipped; nothing a sender puts on the wire can stop the receiver.
 */
import type { Broker } from '../broker/broker';
import { decodeEvents } from './codec';
import { EVENT_EXCHANGE, type CeleryEvent } from './types';

export class EventReceiver {
  /** Messages or batch elements that were not valid events. */
  malformed = 0;
  /** Events of types not folded here (custom `task-*` events, say). */
  ignored = 0;
  /** Valid events handed to the handler. */
  received = 0;
  /** The reason the last malformed message was skipped, for logs and stats. */
  lastError: string | null = null;
  private unsubscribe: (() => Promise<void>) | null = null;

  constructor(private readonly broker: Broker) {}

  /** Subscribes; `handler` gets the events of each message (one, or a whole `task.multi` batch). */
  async start(handler: (events: CeleryEvent[]) => void): Promise<void> {
    if (this.unsubscribe) return;
    const invalid = (reason: string) => {
      this.malformed++;
      this.lastError = reason;
    };
    const ignored = () => {
      this.ignored++;
    };
    this.unsubscribe = await this.broker.subscribeFanout(EVENT_EXCHANGE, ({ message }) => {
      let events: CeleryEvent[];
      try {
        events = decodeEvents(message, { onInvalid: invalid, onIgnored: ignored });
      } catch (err) {
        invalid((err as Error).message);
        return;
      }
      if (events.length === 0) return;
      this.received += events.length;
      try {
        handler(events);
      } catch (err) {
        // The handler's own bug must not stop the subscription (or the broker's other subscribers).
        this.lastError = `event handler threw: ${(err as Error).message}`;
      }
    });
  }

  async stop(): Promise<void> {
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = null;
    await unsubscribe?.();
  }
}
