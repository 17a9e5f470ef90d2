/**
 * A demo app for `lovage worker`:
 *
 *   npx lovage worker -A apps/worker/examples/tasks.ts          (from the repo root)
 *   npm start                                                   (the same, via the root package.json)
 *
 * The broker and result backend come from LOVAGE_BROKER_URL and LOVAGE_RESULT_BACKEND. `lovage worker`
 * sets them from `--broker` and `--result-backend` before importing this file, so reading them here is what
 * makes those flags work (the worker refuses to start if the app ignores a flag it was given).
 *
 * Send some work with `npx tsx apps/worker/examples/send.ts`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { createApp } from '@lovage/runtime';

export const app = createApp({
  broker: process.env.LOVAGE_BROKER_URL ?? 'redis://127.0.0.1:6379/0',
  backend: process.env.LOVAGE_RESULT_BACKEND ?? 'redis://127.0.0.1:6379/1',
  // Tasks show in the console from the moment they are sent, before a worker receives them.
  taskSendSentEvent: true,
  // Sent by beat (`npm start` runs the worker with -B); more can be defined on the console's Schedules page.
  beatSchedule: { 'demo.add-every-minute': { task: 'demo.add', schedule: 60, args: [2, 3] } },
});

/** Stored as `ValueError`, so a Python client re-raises the builtin of that name. */
class ValueError extends Error {
  override name = 'ValueError';
}

/** Succeeds: `add(2, 3)` is 5. */
export const add = app.task('demo.add', (_ctx, a: number, b: number) => a + b);

/** Fails with ValueError. */
export const fail = app.task('demo.fail', (_ctx, message: string = 'this task always fails') => {
  throw new ValueError(message);
});

/** Fails twice, asks for a retry each time, and succeeds on the third run. */
export const flaky = app.task(
  'demo.flaky',
  (ctx) => {
    if (ctx.retries < 2) ctx.retry({ countdown: 0.5, exc: new Error(`attempt ${ctx.retries + 1} failed`) });
    return `succeeded after ${ctx.retries} retries`;
  },
  { maxRetries: 3 },
);

/** Slow I/O: waits `seconds` without blocking the worker; stops early if its signal fires (soft time limit). */
export const sleepTask = app.task('demo.sleep', async (ctx, seconds: number) => {
  await sleep(seconds * 1000, undefined, { signal: ctx.signal });
  return seconds;
});

export default app;
