/**
 * Pausing a queue for every worker, Lovage's and Celery's alike: recorded in the state store (so a Lovage
 * worker started later leaves the queue out) and carried out by Celery's own remote control commands
 * (`cancel_consumer`, then `add_consumer` on resume), which every Celery 5 worker understands.
 *
 * Resume addresses only the workers that consumed the queue when it was paused, plus the Lovage workers that
 * started meanwhile and left it out: a broadcast `add_consumer` would make every other worker start consuming
 * a queue it never served. A Celery worker started while a queue is paused consumes it (Celery keeps no such
 * record); pausing again tells it to stop.
 */
import type { Broker } from '../broker/broker';
import { ConfigError } from '../errors';
import type { QueuePause, StateStore } from '../state/state';
import { Control, type Replies } from './control';

export interface PauseQueueOptions {
  /** Who pauses it (shown beside the queue). */
  by: string;
  /** Why: shown beside the queue and kept with the pause. */
  reason: string;
  /** Seconds to wait for the workers' replies (2). */
  timeout?: number;
}

export interface QueuePauseResult {
  pause: QueuePause;
  /** The pause this one replaced (the queue was paused already), or null. */
  previous: QueuePause | null;
  /** The workers' replies to `cancel_consumer`, Celery's shape. */
  replies: Replies;
}

export interface QueueResumeResult {
  /** The pause that was lifted. */
  pause: QueuePause;
  /** The workers told to consume the queue again. */
  workers: string[];
  /** Their replies to `add_consumer`. */
  replies: Replies;
}

interface PauseHost {
  readonly broker: Broker;
  readonly state: StateStore;
  readonly control: Control;
}

/** Pauses `queue` on every worker now and on workers started later, until `resumeQueue`. */
export async function pauseQueue(
  app: PauseHost,
  queue: string,
  options: PauseQueueOptions,
): Promise<QueuePauseResult> {
  const name = queue.trim();
  if (!name) throw new ConfigError('queue: a queue name is required');
  const timeout = options.timeout ?? 2;
  // Who serves it now, so that resume asks exactly them to serve it again.
  const answers = await app.control.inspect('active_queues', { timeout });
  const workers = Object.entries(answers)
    .filter(([, queues]) => queueNames(queues).includes(name))
    .map(([hostname]) => hostname)
    .sort();
  const known = await app.state.queues.pauseOf(name);
  const pause: QueuePause = {
    queue: name,
    by: options.by,
    reason: options.reason,
    at: Date.now(),
    // Pausing again keeps the workers an earlier pause stopped: they are to be resumed too.
    workers: [...new Set([...(known?.workers ?? []), ...workers])].sort(),
  };
  // Recorded first: a Lovage worker starting between the two steps leaves the queue out.
  const previous = await app.state.queues.pause(pause);
  const replies = await app.control.broadcast('cancel_consumer', { queue: name }, { timeout });
  return { pause, previous, replies };
}

/** Lifts a queue's pause: the workers it stopped, and Lovage workers started meanwhile, consume it again. */
export async function resumeQueue(
  app: PauseHost,
  queue: string,
  options: { timeout?: number } = {},
): Promise<QueueResumeResult | null> {
  const lifted = await app.state.queues.resume(queue.trim());
  if (!lifted) return null;
  const { waiting, ...pause } = lifted;
  const workers = [...new Set([...pause.workers, ...waiting])].sort();
  const replies =
    workers.length === 0
      ? []
      : await app.control.addConsumer(pause.queue, {
          destination: workers,
          timeout: options.timeout ?? 2,
        });
  return { pause, workers, replies };
}

/** The queue names in one worker's `active_queues` reply (a list of kombu queue declarations). */
function queueNames(reply: unknown): string[] {
  if (!Array.isArray(reply)) return [];
  return reply.flatMap((q: unknown) =>
    typeof q === 'object' && q !== null && typeof (q as { name?: unknown }).name === 'string'
      ? [(q as { name: string }).name]
      : [],
  );
}
