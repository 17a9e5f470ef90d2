/**
 * The executor side of the prefork and threads pools, shared by both: load the tasks module, run the
 * `workerProcessInit` hooks, then run one job at a time with executeTask (task hooks and the soft time limit
 * run here) and answer with its outcome; on shutdown run the `workerProcessShutdown` hooks, close the app's
 * connections and exit. The transport (process IPC or a MessagePort) is given as a ChildPort.
 *
 * `process.exit()` ends the process in a child and only the thread in a worker thread, which is what both want.
 */
import { executeTask, NotRegistered, serializeException, type App, type JobOutcome } from '@lovage/runtime';
import { readEnv } from '../env';
import { loadApp } from '../load-app';
import { createLogger } from '../logger';
import {
  fromWireJob,
  toWireError,
  type ChildMessage,
  type ExecutorInit,
  type ParentMessage,
  type WireJob,
} from './protocol';

export interface ChildPort {
  /** Resolves once the message is handed over; never rejects (a gone parent is not an error here). */
  send(msg: ChildMessage): Promise<void>;
  onMessage(listener: (msg: ParentMessage) => void): void;
  /** Bytes compared with maxMemoryPerChild: resident memory for a child, V8 heap in use for a thread. */
  memory(): number;
}

/** How long the app's connections get to close on shutdown before the executor exits anyway. */
const CLOSE_GRACE_MS = 2000;

export class ChildRunner {
  private app: App | null = null;
  private readonly booted: Promise<void>;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly init: ExecutorInit,
    private readonly port: ChildPort,
  ) {
    port.onMessage((msg) => {
      if (msg.type === 'job') void this.run(msg.job);
      else if (msg.type === 'shutdown') void this.shutdown();
    });
    // Task code that forgets an `await` must not take the executor (and its running job) down.
    process.on('unhandledRejection', (reason) => {
      this.log('error', 'unhandled promise rejection (the executor keeps running)', { err: reason });
    });
    this.booted = this.boot();
  }

  private hookInfo() {
    return { hostname: this.init.hostname, pid: process.pid, pool: this.init.pool };
  }

  private async boot(): Promise<void> {
    let app: App;
    try {
      app = await loadApp(this.init.appModule);
    } catch (err) {
      return this.fail(err);
    }
    this.app = app;
    adoptWorkerLogger(app, this.init.hostname);
    try {
      await app.hooks.run('workerProcessInit', this.hookInfo());
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const wrapped = new Error(`a workerProcessInit hook failed: ${reason}`, { cause: err });
      if (err instanceof Error && err.stack)
        wrapped.stack = `${wrapped.name}: ${wrapped.message}\n${err.stack}`;
      return this.fail(wrapped);
    }
    await this.port.send({ type: 'ready' });
  }

  private async fail(err: unknown): Promise<never> {
    await this.port.send({ type: 'init-failed', error: toWireError(err) });
    process.exit(1);
  }

  private async run(wire: WireJob): Promise<void> {
    await this.booted;
    const app = this.app!;
    const job = fromWireJob(wire);
    const { id, name } = job.request;
    let outcome: JobOutcome;
    const started = performance.now();
    try {
      const def = app.tasks.get(name);
      if (!def) throw new NotRegistered(name);
      outcome = await executeTask(def, job, {
        hooks: app.hooks,
        onHookError: (hook, err) => this.log('error', 'a task hook failed', { hook, id, err }),
      }).outcome;
    } catch (err) {
      outcome = {
        kind: 'failure',
        exc: serializeException(err),
        traceback: err instanceof Error ? (err.stack ?? null) : null,
        runtime: (performance.now() - started) / 1000,
      };
    }
    await this.port.send({ type: 'done', taskId: id, outcome, memory: this.port.memory() });
  }

  /** Runs the shutdown hooks and exits; a job still running is abandoned (the parent decided so). */
  shutdown(): Promise<void> {
    this.closing ??= (async () => {
      await this.booted;
      const app = this.app!;
      try {
        await app.hooks.run('workerProcessShutdown', this.hookInfo());
      } catch (err) {
        this.log('error', 'a workerProcessShutdown hook failed', { err });
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        app.close().catch((err: unknown) => this.log('warn', 'could not close the connections', { err })),
        new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS))),
      ]);
      clearTimeout(timer);
      process.exit(0);
    })();
    return this.closing;
  }

  log(level: 'warn' | 'error', msg: string, fields: Record<string, unknown>): void {
    const wire: Record<string, string | ReturnType<typeof toWireError>> = {};
    for (const [k, v] of Object.entries(fields)) wire[k] = k === 'err' ? toWireError(v) : String(v);
    void this.port.send({ type: 'log', level, msg, fields: wire });
  }
}

/** Task code logging through `app.logger` writes in the worker's level and format (set by `lovage worker`). */
function adoptWorkerLogger(app: App, hostname: string): void {
  let env;
  try {
    env = readEnv();
  } catch {
    return;
  }
  if (!env.LOVAGE_LOG_LEVEL) return;
  const logger = createLogger(env.LOVAGE_LOG_LEVEL, env.LOVAGE_LOG_FORMAT ?? 'json').child({
    worker: hostname,
  });
  (app as { logger: App['logger'] }).logger = logger;
}
