/**
 * The prefork pool: each executor is a child process (`child_process.fork`) running one job at a time, so
 * CPU-bound tasks run in parallel and a task stuck anywhere, native code included, can be killed. Children
 * load the tasks module through tsx (`--import`, resolved from this package); the parent keeps the broker
 * and the messages, so a child that dies loses nothing but the job it was running (WorkerLostError).
 * Children share the worker's stdout and stderr, so task logs show where the worker's do.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  ExecutorPool,
  type ExecutorEvents,
  type ExecutorHandle,
  type ExecutorPoolOptions,
} from './executor-pool';
import type { ExecutorInit } from './protocol';

const CHILD_ENTRY = fileURLToPath(new URL('./prefork-child.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export type PreforkPoolOptions = ExecutorPoolOptions;

export class PreforkPool extends ExecutorPool {
  readonly kind = 'prefork';
  protected readonly noun = 'child';

  protected spawnExecutor(init: ExecutorInit, events: ExecutorEvents): ExecutorHandle {
    // JSON IPC: twice the throughput of 'advanced' here, and outcomes are plain JSON anyway.
    const child = fork(CHILD_ENTRY, [JSON.stringify(init)], {
      execArgv: ['--import', TSX],
      serialization: 'json',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: process.env,
    });
    let gone = false;
    const exit = (code: number | null, signal: NodeJS.Signals | null) => {
      if (gone) return;
      gone = true;
      events.exit(code, signal);
    };
    child.on('message', (msg) => events.message(msg as Parameters<ExecutorEvents['message']>[0]));
    child.on('exit', exit);
    // Without a listener, a send() to a child that just died (ERR_IPC_CHANNEL_CLOSED) crashes the worker.
    child.on('error', (err) => {
      if (child.pid === undefined)
        exit(null, null); // could not be started at all: no 'exit' follows
      else this.logger.debug({ err, child: child.pid }, 'pool child channel error');
    });
    const signal = (sig: NodeJS.Signals) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    };
    return {
      pid: child.pid ?? -1,
      id: child.pid ?? -1,
      send: (msg) => {
        if (child.connected) child.send(msg);
      },
      interrupt: () => signal('SIGTERM'),
      kill: () => signal('SIGKILL'),
    };
  }
}
