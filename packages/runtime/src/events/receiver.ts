/**
 * Receives every event on the `celeryev` exchange (Celery's `celery events` binds `#`): single events and
 * `task.multi` batches alike, from Lovage and Celery workers and clients. A message that cannot be read is
 * counted and skipped; nothing a sender puts on the wire can stop the receiver.
 *
 * `startRaw` hands messages over undecoded, for a reader that must keep up with a burst (the monitor): the
 * socket is emptied at the cost of one copy, and `decode` runs later, off the read path.
 */
import type { Broker } from '../broker/broker';
import type { InboundMessage } from '../protocol/message';
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
  start(
    handler: (events: CeleryEvent[]) => void,
    onLink?: (state: 'lost' | 'restored') => void,
  ): Promise<void> {
    return this.startRaw((message) => {
      const events = this.decode(message);
      if (events.length > 0) handler(events);
    }, onLink);
  }

  /**
   * Subscribes; `handler` gets each message as received, to be read with `decode`. `onLink` hears when the
   * subscription drops (events sent until it is `restored` are missed).
   */
  async startRaw(
    handler: (message: InboundMessage) => void,
    onLink?: (state: 'lost' | 'restored') => void,
  ): Promise<void> {
    if (this.unsubscribe) return;
    this.unsubscribe = await this.broker.subscribe(
      EVENT_EXCHANGE,
      '#',
      ({ message }) => {
        try {
          handler(message);
        } catch (err) {
          // The handler's own bug must not stop the subscription (or the broker's other subscribers).
          this.lastError = `event handler threw: ${(err as Error).message}`;
        }
      },
      onLink,
    );
  }

  /** The valid events of a message; what is not valid is counted (`malformed`, `ignored`) and left out. */
  decode(message: InboundMessage): CeleryEvent[] {
    let events: CeleryEvent[];
    try {
      events = decodeEvents(message, {
        onInvalid: (reason) => this.invalid(reason),
        onIgnored: () => this.ignored++,
      });
    } catch (err) {
      this.invalid((err as Error).message);
      return [];
    }
    this.received += events.length;
    return events;
  }

  async stop(): Promise<void> {
    const unsubscribe = this.unsubscribe;
    this.unsubscribe = null;
    await unsubscribe?.();
  }

  private invalid(reason: string): void {
    this.malformed++;
    this.lastError = reason;
  }
}
