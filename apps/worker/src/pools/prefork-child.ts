/**
 * Entry of a prefork child, started by PreforkPool with `fork(…, { execArgv: ['--import', tsx] })` so that
 * this file and the tasks module load as TypeScript. argv[2] is the ExecutorInit as JSON.
 *
 * The child stops (shutdown hooks, then exit) on a `shutdown` message, on SIGTERM (terminate) and when the
 * IPC channel closes: the parent died, and a child must not outlive it holding connections. SIGINT is
 * ignored: Ctrl-C in a terminal reaches the whole process group, and the parent decides what a shutdown is.
 */
import { ChildRunner, type ChildPort } from './child-runner';
import type { ExecutorInit, ParentMessage } from './protocol';

const init = JSON.parse(process.argv[2] ?? '') as ExecutorInit;

const port: ChildPort = {
  send: (msg) =>
    new Promise((resolve) => {
      if (!process.send || !process.connected) return resolve();
      process.send(msg, undefined, {}, () => resolve());
    }),
  onMessage: (listener) => process.on('message', (msg) => listener(msg as ParentMessage)),
  memory: () => process.memoryUsage.rss(),
};

const runner = new ChildRunner(init, port);
process.on('SIGTERM', () => void runner.shutdown());
process.on('disconnect', () => void runner.shutdown());
process.on('SIGINT', () => undefined);
