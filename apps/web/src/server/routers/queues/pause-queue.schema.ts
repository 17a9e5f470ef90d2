import { z } from 'zod';

/** Pausing a queue for every worker: the reason is shown beside the queue until it is resumed. */
export const pauseQueueInput = z.object({
  queue: z.string().trim().min(1, 'is required').max(200),
  reason: z.string().trim().min(1, 'say why the queue is paused').max(500),
});
export type PauseQueueInput = z.input<typeof pauseQueueInput>;

export const resumeQueueInput = z.object({
  queue: z.string().trim().min(1, 'is required').max(200),
  reason: z.string().trim().max(500).optional(),
});
export type ResumeQueueInput = z.input<typeof resumeQueueInput>;
