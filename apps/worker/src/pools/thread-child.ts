/**
 * A threads-pool thread, imported by thread-entry.mjs once tsx is registered in this thread. The
 * ExecutorInit comes as workerData. `memory()` is the thread's V8 heap in use: resident memory is the whole
 * process's, shared by every thread, so it cannot tell which thread grew.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { ChildRunner } from './child-runner';
import type { ExecutorInit, ParentMessage } from './protocol';

if (!parentPort) throw new Error('thread-child.ts runs in a worker thread started by ThreadsPool');
const channel = parentPort;

new ChildRunner(workerData as ExecutorInit, {
  send: async (msg) => channel.postMessage(msg),
  onMessage: (listener) => channel.on('message', (msg: ParentMessage) => listener(msg)),
  memory: () => getHeapStatistics().used_heap_size,
});
