/**
 * What the prefork and threads pools share: N executors (child processes or worker threads), each running
 * one job at a time, replaced when they die. The parent keeps every job's state: it times the hard limit and
 * kills the executor that overran it, turns an executor dying mid-job into a WorkerLostError, recycles
 * executors after maxTasksPerChild jobs or over maxMemoryPerChild, and grows or shrinks the set on resize.
 * Subclasses only know how to start an executor and how to stop it politely or at once.
 *
 * Executor states: starting (loading the module and running workerProcessInit) → idle ⇄ busy → stopping
 * (asked to stop, or killed) → gone. An executor that exits on its own is replaced at once; one that cannot
 * start is retried with a backoff (1 s, doubling up to 30 s), except during start(), which rejects instead.
 */
import { constants as osConstants } from 'node:os';
import {
  PoolError,
  serializeException,
  TaskRevokedError,
  TimeLimitExceeded,
  WorkerLostError,
  type Job,
  type JobOutcome,
  type Logger,
  type Pool,
  type PoolInfo,
} from '@lovage/runtime';
import {
  fromWireError,
  toWireJob,
  type ChildMessage,
  type ExecutorInit,
  type ExecutorKind,
  type ParentMessage,
} from './protocol';

export interface ExecutorPoolOptions {
  /** Absolute path of the tasks module (the `-A` file) every executor loads. */
  appModule: string;
  /** Executors, so jobs at once. Celery: --concurrency. */
  size: number;
  /** The worker's node name, given to hooks and task contexts. */
  hostname: string;
  logger: Logger;
  /** Replace an executor after it ran this many tasks. Default null (never). Celery: worker_max_tasks_per_child. */
  maxTasksPerChild?: number | null;
  /**
   * Replace an executor whose memory is above this many MB after a task (that task still completes). Default
   * null (no limit). Resident memory for prefork children; V8 heap in use for threads. Celery:
   * worker_max_memory_per_child, which counts KiB.
   */
  maxMemoryPerChild?: number | null;
  /** How long a stopping executor gets to run workerProcessShutdown before it is killed. Default 10 000 ms. */
  shutdownGraceMs?: number;
  /** terminate(): how long after SIGTERM (threads: a shutdown message) before the kill. Default 1000 ms. */
  terminateGraceMs?: number;
}

/** start() could not bring up the executors (typically: the tasks module fails to load in them). */
export class PoolStartError extends PoolError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('POOL_START_FAILED', message, options);
  }
}

/** One executor as a subclass drives it. */
export interface ExecutorHandle {
  /** The process it lives in (the worker's own pid for a thread). */
  readonly pid: number;
  /** What tells executors apart in logs: the child's pid, or the threadId. */
  readonly id: number;
  /** Posts a message; a message to an executor that is already gone is dropped. */
  send(msg: ParentMessage): void;
  /** Asks it to stop now, shutdown hooks first: SIGTERM to a child, a shutdown message to a thread. */
  interrupt(): void;
  /** Stops it at once, no hooks: SIGKILL, or worker.terminate(). */
  kill(): void;
}

export interface ExecutorEvents {
  message(msg: ChildMessage): void;
  /** Exactly once, when the executor is gone. */
  exit(code: number | null, signal: NodeJS.Signals | null): void;
}

/** One executor as executorInfo() shows it. */
export interface ExecutorInfo {
  /** The child's pid, or the threadId. */
  id: number;
  pid: number;
  state: 'starting' | 'idle' | 'busy' | 'stopping';
  /** Jobs it finished. */
  tasks: number;
  /** The id of the task it is running, if any. */
  taskId: string | null;
}

type Ending = 'time-limit' | 'terminated' | 'recycled' | 'shrunk' | 'stopped';

interface Running {
  job: Job;
  started: number;
  resolve(outcome: JobOutcome): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | null;
}

interface Executor {
  handle: ExecutorHandle;
  state: 'starting' | 'idle' | 'busy' | 'stopping';
  running: Running | null;
  tasks: number;
  /** Why the pool ended it; null while it lives, or when it died on its own. */
  ending: Ending | null;
  /** Shrunk while starting or busy: stops once ready or once its job is done. */
  retireWhenFree: boolean;
  spawnedAt: number;
  readyAt: number | null;
  initError: Error | null;
  ready: Promise<void>;
  settleReady(err?: Error): void;
  exited: Promise<void>;
  markExited(): void;
  killTimer: NodeJS.Timeout | null;
}

interface Waiting {
  job: Job;
  resolve(outcome: JobOutcome): void;
  reject(err: Error): void;
}

const MAX_BACKOFF_MS = 30_000;

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  if (signal) return `signal ${osConstants.signals[signal] ?? '?'} (${signal})`;
  return `exitcode ${code ?? '?'}`;
}

function failureOutcome(err: Error, started: number): JobOutcome {
  return {
    kind: 'failure',
    exc: serializeException(err),
    traceback: null,
    runtime: (performance.now() - started) / 1000,
  };
}

export abstract class ExecutorPool implements Pool {
  abstract readonly kind: ExecutorKind;
  /** The target number of executors (resize changes it at once; executors follow). */
  size: number;
  protected readonly logger: Logger;
  private readonly executors = new Set<Executor>();
  private readonly waiting: Waiting[] = [];
  private phase: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private started: Promise<void> | null = null;
  private stopped: Promise<void> | null = null;
  private spawned = 0;
  private lost = 0;
  private startFailures = 0;
  private respawnTimer: NodeJS.Timeout | null = null;
  private readonly maxTasksPerChild: number | null;
  private readonly maxMemoryPerChild: number | null;
  private readonly shutdownGraceMs: number;
  private readonly terminateGraceMs: number;

  constructor(protected readonly options: ExecutorPoolOptions) {
    this.size = Math.max(1, Math.trunc(options.size));
    this.logger = options.logger;
    this.maxTasksPerChild = options.maxTasksPerChild || null;
    this.maxMemoryPerChild = options.maxMemoryPerChild || null;
    this.shutdownGraceMs = options.shutdownGraceMs ?? 10_000;
    this.terminateGraceMs = options.terminateGraceMs ?? 1000;
  }

  /** Starts one executor; it reports through `events`. */
  protected abstract spawnExecutor(init: ExecutorInit, events: ExecutorEvents): ExecutorHandle;
  /** 'child' or 'thread', for messages. */
  protected abstract readonly noun: string;

  start(): Promise<void> {
    this.started ??= this.bringUp();
    return this.started;
  }

  private async bringUp(): Promise<void> {
    if (this.phase !== 'new') throw new Error(`the ${this.kind} pool was stopped; create a new one`);
    this.phase = 'starting';
    const first = Array.from({ length: this.size }, () => this.spawn());
    try {
      await Promise.all(first.map((e) => e.ready));
    } catch (err) {
      await this.stop();
      const reason = err instanceof Error ? err.message : String(err);
      throw new PoolStartError(`the ${this.kind} pool could not start a ${this.noun}: ${reason}`, {
        cause: err,
      });
    }
    if (this.phase !== 'starting') return; // stopped meanwhile
    this.phase = 'running';
    this.fill();
    this.dispatch();
  }

  execute(job: Job): Promise<JobOutcome> {
    if (this.phase !== 'running' && this.phase !== 'starting') {
      return Promise.reject(new Error(`the ${this.kind} pool is not running`));
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ job, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Revoke with terminate: the executor running the task is stopped (SIGTERM, then SIGKILL after
   * terminateGraceMs) and replaced, and the job ends as REVOKED. A job still waiting for an executor is
   * dropped as REVOKED too.
   */
  terminate(taskId: string): boolean {
    const i = this.waiting.findIndex((w) => w.job.request.id === taskId);
    if (i >= 0) {
      const [w] = this.waiting.splice(i, 1);
      w!.resolve(failureOutcome(new TaskRevokedError('terminated'), performance.now()));
      return true;
    }
    const e = [...this.executors].find((x) => x.running?.job.request.id === taskId);
    if (!e) return false;
    const r = this.takeRunning(e)!;
    r.resolve(failureOutcome(new TaskRevokedError('terminated'), r.started));
    this.logger.info(
      { id: taskId, [this.noun]: e.handle.id },
      `terminating the ${this.noun} running the task`,
    );
    this.end(e, 'terminated', 'interrupt', this.terminateGraceMs);
    this.fill();
    return true;
  }

  async resize(size: number): Promise<void> {
    this.size = Math.max(1, Math.trunc(size));
    if (this.phase !== 'running') return;
    const active = this.active();
    if (active.length < this.size) {
      let missing = this.size - active.length;
      // Executors that a shrink was letting finish their job stay after all.
      for (const e of this.executors) {
        if (missing > 0 && e.retireWhenFree && e.state !== 'stopping') {
          e.retireWhenFree = false;
          missing--;
        }
      }
      const fresh = Array.from({ length: missing }, () => this.spawn());
      await Promise.allSettled(fresh.map((e) => e.ready));
      return;
    }
    const rank = { starting: 0, idle: 1, busy: 2, stopping: 3 };
    const victims = active.sort((a, b) => rank[a.state] - rank[b.state]).slice(0, active.length - this.size);
    const stopping: Promise<void>[] = [];
    for (const e of victims) {
      if (e.state === 'idle') {
        this.end(e, 'shrunk', 'shutdown', this.shutdownGraceMs);
        stopping.push(e.exited);
      } else {
        e.retireWhenFree = true;
      }
    }
    await Promise.all(stopping);
  }

  info(): PoolInfo {
    return {
      'max-concurrency': this.size,
      processes: [...this.executors].filter((e) => e.state !== 'stopping').map((e) => e.handle.pid),
      'max-tasks-per-child': this.maxTasksPerChild,
      'max-memory-per-child': this.maxMemoryPerChild,
      spawned: this.spawned,
      lost: this.lost,
    };
  }

  /** Each executor and what it is doing, stopping ones included (a per-process view beside info()). */
  pidOf(taskId: string): number | null {
    for (const e of this.executors) if (e.running?.job.request.id === taskId) return e.handle.pid;
    return null;
  }

  executorInfo(): ExecutorInfo[] {
    return [...this.executors].map((e) => ({
      id: e.handle.id,
      pid: e.handle.pid,
      state: e.state,
      tasks: e.tasks,
      taskId: e.running?.job.request.id ?? null,
    }));
  }

  /**
   * Sends every executor a shutdown message (workerProcessShutdown runs in each) and kills those still alive
   * after shutdownGraceMs. Jobs still waiting, or running and abandoned, reject with WorkerLostError.
   */
  stop(): Promise<void> {
    if (this.phase === 'new' || this.phase === 'stopped') {
      this.phase = 'stopped';
      return Promise.resolve();
    }
    this.stopped ??= (async () => {
      this.phase = 'stopping';
      if (this.respawnTimer) clearTimeout(this.respawnTimer);
      this.respawnTimer = null;
      for (const w of this.waiting.splice(0)) {
        w.reject(new WorkerLostError(`the ${this.kind} pool stopped before job ${w.job.request.id} ran`));
      }
      for (const e of this.executors) {
        if (e.state !== 'stopping') this.end(e, 'stopped', 'shutdown', this.shutdownGraceMs);
      }
      await Promise.all([...this.executors].map((e) => e.exited));
      this.phase = 'stopped';
    })();
    return this.stopped;
  }

  private active(): Executor[] {
    return [...this.executors].filter((e) => e.state !== 'stopping' && !e.retireWhenFree);
  }

  private spawn(): Executor {
    let settleReady!: (err?: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      settleReady = (err) => (err ? reject(err) : resolve());
    });
    ready.catch(() => undefined); // awaited by start()/resize() only; failures are handled on exit
    let markExited!: () => void;
    const exited = new Promise<void>((resolve) => (markExited = resolve));
    const e: Executor = {
      handle: undefined as unknown as ExecutorHandle,
      state: 'starting',
      running: null,
      tasks: 0,
      ending: null,
      retireWhenFree: false,
      spawnedAt: performance.now(),
      readyAt: null,
      initError: null,
      ready,
      settleReady,
      exited,
      markExited,
      killTimer: null,
    };
    const init: ExecutorInit = {
      appModule: this.options.appModule,
      hostname: this.options.hostname,
      pool: this.kind,
    };
    e.handle = this.spawnExecutor(init, {
      message: (msg) => this.onMessage(e, msg),
      exit: (code, signal) => this.onExit(e, code, signal),
    });
    this.executors.add(e);
    this.spawned++;
    return e;
  }

  /** Starts executors until `size` are active; paused while a failed start is backing off. */
  private fill(): void {
    if (this.phase !== 'running' || this.respawnTimer) return;
    for (let n = this.active().length; n < this.size; n++) this.spawn();
  }

  private dispatch(): void {
    while (this.waiting.length > 0) {
      const e = [...this.executors].find((x) => x.state === 'idle');
      if (!e) return;
      const w = this.waiting.shift()!;
      const r: Running = { ...w, started: performance.now(), timer: null };
      e.state = 'busy';
      e.running = r;
      try {
        e.handle.send({ type: 'job', job: toWireJob(w.job) });
      } catch (err) {
        // Arguments IPC cannot carry (a bigint; decoded messages never hold one): the job fails, the executor stays.
        e.running = null;
        e.state = 'idle';
        w.reject(err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      const limit = w.job.timeLimit;
      if (limit) r.timer = setTimeout(() => this.onHardLimit(e, r, limit), limit * 1000);
    }
  }

  private takeRunning(e: Executor): Running | null {
    const r = e.running;
    if (!r) return null;
    e.running = null;
    if (r.timer) clearTimeout(r.timer);
    return r;
  }

  /**
   * Ends an executor: `shutdown` (message; hooks run, for recycling, shrinking and stop), `interrupt`
   * (terminate) or `kill` (hard limit). Whatever does not exit within `graceMs` is killed.
   */
  private end(e: Executor, ending: Ending, how: 'shutdown' | 'interrupt' | 'kill', graceMs = 0): void {
    if (e.state === 'stopping' && how !== 'kill') return;
    e.state = 'stopping';
    e.ending ??= ending;
    if (how === 'kill') {
      e.handle.kill();
      return;
    }
    if (how === 'shutdown') e.handle.send({ type: 'shutdown' });
    else e.handle.interrupt();
    if (e.killTimer) clearTimeout(e.killTimer);
    e.killTimer = setTimeout(() => {
      this.logger.warn(
        { [this.noun]: e.handle.id, graceMs },
        `the ${this.noun} did not stop in time; killing it`,
      );
      e.handle.kill();
    }, graceMs);
  }

  private onHardLimit(e: Executor, r: Running, seconds: number): void {
    if (e.running !== r) return;
    this.takeRunning(e);
    const { id, name } = r.job.request;
    r.resolve(failureOutcome(new TimeLimitExceeded(seconds), r.started));
    this.logger.error(
      { id, [this.noun]: e.handle.id },
      `Hard time limit (${seconds}s) exceeded for ${name}[${id}]; killing the ${this.noun}`,
    );
    this.end(e, 'time-limit', 'kill');
    this.fill();
  }

  private onMessage(e: Executor, msg: ChildMessage): void {
    switch (msg.type) {
      case 'ready': {
        e.readyAt = performance.now();
        this.startFailures = 0;
        this.logger.debug(
          { [this.noun]: e.handle.id, ms: Math.round(e.readyAt - e.spawnedAt) },
          `pool ${this.noun} ready`,
        );
        e.settleReady();
        if (e.state !== 'starting') return;
        if (e.retireWhenFree) {
          this.end(e, 'shrunk', 'shutdown', this.shutdownGraceMs);
          return;
        }
        e.state = 'idle';
        this.dispatch();
        return;
      }
      case 'init-failed':
        e.initError = fromWireError(msg.error);
        e.settleReady(e.initError);
        return;
      case 'done':
        this.onDone(e, msg.taskId, msg.outcome, msg.memory);
        return;
      case 'log':
        this.logger[msg.level]({ ...msg.fields, [this.noun]: e.handle.id }, msg.msg);
        return;
    }
  }

  private onDone(e: Executor, taskId: string, outcome: JobOutcome, memory: number): void {
    // A job already settled by the pool (hard limit, terminate) can still answer: ignore it.
    if (e.running?.job.request.id !== taskId) return;
    this.takeRunning(e)!.resolve(outcome);
    e.tasks++;
    if (e.state !== 'busy') return;
    if (e.retireWhenFree) {
      this.end(e, 'shrunk', 'shutdown', this.shutdownGraceMs);
    } else if (this.maxTasksPerChild !== null && e.tasks >= this.maxTasksPerChild) {
      this.logger.info(
        { [this.noun]: e.handle.id, tasks: e.tasks },
        `max-tasks-per-child reached; replacing the ${this.noun}`,
      );
      this.end(e, 'recycled', 'shutdown', this.shutdownGraceMs);
      this.fill();
    } else if (this.maxMemoryPerChild !== null && memory > this.maxMemoryPerChild * 1024 * 1024) {
      this.logger.info(
        { [this.noun]: e.handle.id, mb: Math.round(memory / 1024 / 1024), limitMb: this.maxMemoryPerChild },
        `max-memory-per-child exceeded; replacing the ${this.noun}`,
      );
      this.end(e, 'recycled', 'shutdown', this.shutdownGraceMs);
      this.fill();
    } else {
      e.state = 'idle';
    }
    this.dispatch();
  }

  private onExit(e: Executor, code: number | null, signal: NodeJS.Signals | null): void {
    if (!this.executors.delete(e)) return;
    if (e.killTimer) clearTimeout(e.killTimer);
    const how = describeExit(code, signal);
    if (e.readyAt === null) {
      const err =
        e.initError ??
        new Error(`the ${this.noun} exited (${how}) before it loaded ${this.options.appModule}`);
      e.settleReady(err);
      if (e.ending === null && this.phase === 'running') {
        this.startFailures++;
        const delay = Math.min(1000 * 2 ** (this.startFailures - 1), MAX_BACKOFF_MS);
        this.logger.error({ err, retryInMs: delay }, `a pool ${this.noun} could not start; retrying`);
        this.respawnTimer ??= setTimeout(() => {
          this.respawnTimer = null;
          this.fill();
        }, delay);
      }
    } else {
      const r = this.takeRunning(e);
      if (r) {
        r.reject(new WorkerLostError(`Worker exited prematurely: ${how} Job: ${r.job.request.id}.`));
      }
      if (e.ending === null || e.ending === 'time-limit') this.lost++;
      if (e.ending === null && this.phase === 'running') {
        this.logger.error(
          { [this.noun]: e.handle.id, exit: how, id: r?.job.request.id },
          `a pool ${this.noun} exited unexpectedly; replacing it`,
        );
        this.fill();
      }
    }
    e.markExited();
    this.dispatch();
  }
}
