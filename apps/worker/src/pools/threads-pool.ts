/**
 * The threads pool: each executor is a worker thread running one job at a time. Lighter than prefork
 * (about 35 MiB and 0.4–1.4 s to start per thread with tsx) and a hard time limit still works through
 * `worker.terminate()`, but only JavaScript can be interrupted: a thread blocked in native code (execSync,
 * a synchronous addon call) ends only when that call returns. Tasks like that belong in prefork.
 *
 * Differences from prefork: info().processes repeats the worker's own pid once per thread (they share it);
 * maxMemoryPerChild compares the thread's V8 heap in use (`v8.getHeapStatistics().used_heap_size`), since
 * resident memory belongs to the whole process; terminate() posts a shutdown message where prefork sends
 * SIGTERM. A task calling `process.exit()` ends only its thread, reported as WorkerLostError.
 */
import { Worker } from 'node:worker_threads';
import {
  ExecutorPool,
  type ExecutorEvents,
  type ExecutorHandle,
  type ExecutorPoolOptions,
} from './executor-pool';
import type { ChildMessage, ExecutorInit } from './protocol';

const THREAD_ENTRY = new URL('./thread-entry.mjs', import.meta.url);

export type ThreadsPoolOptions = ExecutorPoolOptions;

export class ThreadsPool extends ExecutorPool {
  readonly kind = 'threads';
  protected readonly noun = 'thread';

  protected spawnExecutor(init: ExecutorInit, events: ExecutorEvents): ExecutorHandle {
    // stdout/stderr are not redirected: the thread writes through the worker's own streams.
    const worker = new Worker(THREAD_ENTRY, { workerData: init });
    const id = worker.threadId;
    let gone = false;
    worker.on('message', (msg: ChildMessage) => events.message(msg));
    // An uncaught exception in the thread: it exits next (code 1), which the pool reports.
    worker.on('error', (err) =>
      this.logger.error({ err, thread: id }, 'uncaught exception in a pool thread'),
    );
    worker.on('exit', (code) => {
      gone = true;
      events.exit(code, null);
    });
    return {
      pid: process.pid,
      id,
      send: (msg) => {
        if (!gone) worker.postMessage(msg);
      },
      interrupt: () => {
        if (!gone) worker.postMessage({ type: 'shutdown' });
      },
      kill: () => {
        if (!gone) void worker.terminate();
      },
    };
  }
}
