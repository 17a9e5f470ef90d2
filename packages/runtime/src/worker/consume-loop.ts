/**
 * The consume loop: reserve up to the prefetch window (Celery's prefetch count: concurrency ×
 * prefetchMultiplier) less what is held ready or running, hand each delivery to the strategy, start what
 * can run, and wait for a free slot when the window is full. While the broker is away it retries with a
 * capped backoff. ETA and rate-limited tasks held on timers are left out of the window: on Redis (pull)
 * they wait under the lease without stopping others from being reserved, and a push transport's window is
 * raised by their number (`Consumer.setPrefetch`).
 */
import type { Logger } from '../logging';
import type { Consumer, Delivery } from '../broker/broker';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** Messages reserved ahead: Celery's prefetch count. */
export function prefetchCount(concurrency: number, prefetchMultiplier: number): number {
  return concurrency * prefetchMultiplier;
}

/** Wakes whoever waits for a slot to free: the loop with a full window, or a warm stop draining tasks. */
export class SlotSignal {
  private waiting: (() => void) | null = null;

  wait(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.waiting = resolve;
    });
  }

  fire(): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.();
  }
}

export interface ConsumeLoopDeps {
  log: Logger;
  slot: SlotSignal;
  /** The consumer while the worker runs; null once it stopped. */
  consumer(): Consumer | null;
  running(): boolean;
  prefetch(): number;
  /** Tasks ready or running, which count against the window. */
  holding(): number;
  /** Tasks held unacknowledged for an ETA or a rate-limit token, which do not. */
  waiting(): number;
  receive(d: Delivery): Promise<void>;
  /** Starts what can run now. */
  dispatch(): void;
}

export async function consumeLoop(deps: ConsumeLoopDeps): Promise<void> {
  let failures = 0;
  for (let consumer = deps.consumer(); deps.running() && consumer; consumer = deps.consumer()) {
    // A push transport counts the waiting tasks against its window too: raise it by as many (Celery's
    // qos.increment_eventually per ETA task), or a worker holding `prefetch` ETA tasks receives nothing else.
    consumer.setPrefetch(deps.prefetch() + deps.waiting());
    const capacity = deps.prefetch() - deps.holding();
    if (capacity <= 0) {
      await deps.slot.wait();
      continue;
    }
    let deliveries: Delivery[];
    try {
      deliveries = await consumer.reserve(capacity);
      if (failures > 0) deps.log.info('broker connection restored, consuming again');
      failures = 0;
    } catch (err) {
      failures++;
      if (failures === 1) deps.log.warn({ err: (err as Error).message }, 'broker unavailable; retrying');
      await sleep(Math.min(2000, 100 * 2 ** failures));
      continue;
    }
    for (const d of deliveries) await deps.receive(d);
    deps.dispatch();
  }
}
