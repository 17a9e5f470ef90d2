/**
 * What every part of `npm run bench` shares: the run's settings from the environment, the JSON-line output,
 * worker processes (spawned, sampled for memory, stopped), watching completions, and the open-loop sender.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { preciseNow } from './fixtures/marker.mjs';

const env = process.env;
export const REDIS = env.BENCH_REDIS ?? 'redis://127.0.0.1:6379/0';
/** Results live in database 1 of the same Redis. */
export const RESULTS = REDIS.replace(/\/\d*$/, '/1');
export const N = Number(env.BENCH_N ?? 20_000);
export const REPS = Number(env.BENCH_REPS ?? 3);
/** `-c` of the async pool (and BullMQ's concurrency); prefork runs one process per core. */
export const CONCURRENCY = Number(env.BENCH_CONCURRENCY ?? 50);
export const LATENCY_RATE = Number(env.BENCH_LATENCY_RATE ?? 500);
/** Tasks measured per latency run, after a warm-up second at the same rate. */
export const LATENCY_N = Number(env.BENCH_LATENCY_N ?? Math.min(5000, N));
export const CELERY_N = Number(env.BENCH_CELERY_N ?? Math.min(5000, N));
export const HELD_ETA = Number(env.BENCH_HELD_ETA ?? 10_000);
/** Where Lovage workers write a V8 CPU profile each (`node --cpu-prof`), or none. */
export const PROFILE_DIR = env.BENCH_PROFILE_DIR;
export const BULK_SIZES = (env.BENCH_BULK ?? '100,1000').split(',').map(Number);

/** BENCH_SKIP_<PART>=1 leaves a part out. */
export const skip = (part: string): boolean => env[`BENCH_SKIP_${part.toUpperCase()}`] === '1';

export const now = preciseNow;
export const uid = (): string => randomUUID().slice(0, 8);

export interface Figure {
  system: string;
  figure: string;
  value: number;
  unit: string;
  rep: number;
  [param: string]: unknown;
}

export const figures: Figure[] = [];

const exec = promisify(execFile);

/**
 * A RabbitMQ vhost of the run's own, `lovage-bench-<id>` (guest may do anything in it), on the machine's
 * RabbitMQ (BENCH_AMQP_HOST, default 127.0.0.1:5672); `drop` deletes it with every queue and exchange in it.
 */
export async function benchVhost(): Promise<{ url: string; drop: () => Promise<void> }> {
  const vhost = `lovage-bench-${randomUUID()}`;
  const ctl = (...args: string[]) => exec('rabbitmqctl', ['-q', ...args], { timeout: 30_000 });
  await ctl('add_vhost', vhost);
  const drop = async () => void (await ctl('delete_vhost', vhost));
  try {
    await ctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
  } catch (e) {
    await drop().catch(() => undefined);
    throw e;
  }
  const host = env.BENCH_AMQP_HOST ?? '127.0.0.1:5672';
  return { url: `amqp://guest:guest@${host}/${encodeURIComponent(vhost)}`, drop };
}

/** One JSON line per figure on stdout, kept for the table at the end. */
export function emit(figure: Figure): void {
  figures.push(figure);
  process.stdout.write(`${JSON.stringify({ ...figure, n: figure.n ?? N, at: new Date().toISOString() })}\n`);
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

export const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** VmRSS of a process in MB, or null once it is gone. */
export function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

export interface Proc {
  child: ChildProcess;
  spawnedAt: number;
  /** The highest VmRSS seen since the last call (sampled every 50 ms). */
  takePeakRss(): number | null;
  /** SIGTERM (a warm stop), SIGKILL to its process group after 15 s. */
  stop(): Promise<void>;
}

/** Worker processes not yet stopped, each with what marks it as stopped on purpose, for `killWorkers`. */
const live = new Map<ChildProcess, () => void>();

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** SIGKILLs every running worker's process group (they run detached, so a Ctrl-C does not reach them). */
export function killWorkers(): void {
  for (const [child, stopping] of live) {
    stopping();
    killGroup(child);
  }
}

/** Starts a worker in its own process group, stdout discarded, the tail of stderr kept for errors. */
export function spawnProc(cmd: string, args: string[], extraEnv: Record<string, string>, cwd?: string): Proc {
  const spawnedAt = now();
  const child = spawn(cmd, args, {
    cwd,
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-4000);
  });
  let stopping = false;
  live.set(child, () => (stopping = true));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  void exited.then(() => {
    if (!stopping) process.stderr.write(`bench: ${cmd} ${args.join(' ')} exited early:\n${stderr}\n`);
  });
  let peak: number | null = null;
  const sampler = setInterval(() => {
    const v = rssMb(child.pid!);
    if (v !== null && (peak === null || v > peak)) peak = v;
  }, 50);
  return {
    child,
    spawnedAt,
    takePeakRss() {
      const p = peak;
      peak = null;
      return p;
    },
    async stop() {
      stopping = true;
      clearInterval(sampler);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killed = await Promise.race([exited.then(() => false), sleep(15_000).then(() => true)]);
        if (killed) {
          killGroup(child);
          await exited;
        }
      }
    },
  };
}

/**
 * Counts finished tasks as a client sees them, from one Redis subscription: result publishes matching a
 * pattern (results on; Celery's and Lovage's Redis backends publish each stored result on its key's channel),
 * or the completion marks of fixtures/marker.mjs (results off).
 */
export class Completions {
  count = 0;
  first: number | null = null;
  last: number | null = null;
  private readonly sub = new Redis(REDIS, { lazyConnect: true });
  private waiter: { n: number; resolve: () => void } | null = null;

  constructor(private readonly closer: () => unknown = () => undefined) {}

  static async results(runId: string): Promise<Completions> {
    const c = new Completions();
    c.sub.on('pmessage', (_p: string, _ch: string, body: string) => {
      if (body.includes('"SUCCESS"')) c.add(1);
    });
    await c.sub.psubscribe(`celery-task-meta-${runId}-*`);
    return c;
  }

  static async marks(channel: string): Promise<Completions> {
    const c = new Completions();
    c.sub.on('message', (_ch: string, body: string) => c.add(Number(body)));
    await c.sub.subscribe(channel);
    return c;
  }

  add(k: number): void {
    const t = now();
    this.first ??= t;
    this.last = t;
    this.count += k;
    if (this.waiter && this.count >= this.waiter.n) this.waiter.resolve();
  }

  /** Resolves once n tasks finished; rejects after `timeoutMs` without progress. */
  async waitFor(n: number, timeoutMs = 60_000): Promise<void> {
    while (this.count < n) {
      const before = this.count;
      const reached = await Promise.race([
        new Promise<boolean>((resolve) => (this.waiter = { n, resolve: () => resolve(true) })),
        sleep(timeoutMs).then(() => false),
      ]);
      this.waiter = null;
      if (!reached && this.count === before) throw new Error(`stalled at ${this.count} of ${n} tasks`);
    }
  }

  async close(): Promise<void> {
    this.sub.disconnect();
    await this.closer();
  }
}

export interface DrainTimes {
  startupS: number;
  steadyPerSec: number;
  totalPerSec: number;
}

/** Spawn → first result, first → last result, spawn → last result. */
export function drainTimes(spawnedAt: number, c: Completions, n: number): DrainTimes {
  const first = c.first!;
  const last = c.last!;
  return {
    startupS: Math.round(first - spawnedAt) / 1000,
    steadyPerSec: Math.round(((n - 1) * 1000) / Math.max(last - first, 1e-3)),
    totalPerSec: Math.round((n * 1000) / (last - spawnedAt)),
  };
}

/** The three drain figures of one run: `drain_<label>_startup`, `_steady` and `_total`. */
export function emitDrain(
  system: string,
  label: string,
  rep: number,
  t: DrainTimes,
  params: Record<string, unknown>,
): void {
  emit({ system, figure: `drain_${label}_startup`, value: t.startupS, unit: 's', rep, ...params });
  emit({ system, figure: `drain_${label}_steady`, value: t.steadyPerSec, unit: '/s', rep, ...params });
  emit({ system, figure: `drain_${label}_total`, value: t.totalPerSec, unit: '/s', rep, ...params });
}

/**
 * Enqueue figures: N sends awaited one at a time (`enqueue_one`), then N sent in batches of each size
 * (`enqueue_bulk_<size>`), each batch awaited before the next.
 */
export async function measureEnqueue(
  system: string,
  rep: number,
  bulkSizes: readonly number[],
  one: () => Promise<unknown>,
  bulk: (size: number) => Promise<unknown>,
): Promise<void> {
  const rate = (t: number) => Math.round(N / ((performance.now() - t) / 1000));
  let t = performance.now();
  for (let i = 0; i < N; i++) await one();
  emit({ system, figure: 'enqueue_one', value: rate(t), unit: '/s', rep });
  for (const size of bulkSizes) {
    t = performance.now();
    for (let i = 0; i < N; i += size) await bulk(Math.min(size, N - i));
    emit({ system, figure: `enqueue_bulk_${size}`, value: rate(t), unit: '/s', rep, batch: size });
  }
}

export interface Latencies {
  start: number[];
  result: number[];
}

/**
 * Sends `count` tasks at `rate` a second on a fixed schedule, never waiting for earlier ones (an open loop).
 * `fire` sends one and resolves with when the task started (taken inside the task); the send time is taken
 * just before `fire`, the result time when its promise resolves. The first second is a warm-up, not kept.
 */
export async function openLoop(
  count: number,
  rate: number,
  fire: (i: number) => Promise<number>,
): Promise<Latencies> {
  const warm = rate;
  const total = warm + count;
  const out: Latencies = { start: [], result: [] };
  const pending: Promise<void>[] = [];
  const t0 = now();
  let i = 0;
  while (i < total) {
    const due = Math.min(total, Math.floor(((now() - t0) * rate) / 1000) + 1);
    for (; i < due; i++) {
      const k = i;
      const sent = now();
      pending.push(
        fire(k).then((started) => {
          if (k < warm) return;
          out.start.push(started - sent);
          out.result.push(now() - sent);
        }),
      );
    }
    await sleep(1);
  }
  await Promise.all(pending);
  return out;
}

/** p50/p95/p99 in ms, as figures. */
export function emitLatencies(
  system: string,
  base: Record<string, unknown>,
  rep: number,
  l: Latencies,
): void {
  for (const [kind, values] of [
    ['start', l.start],
    ['result', l.result],
  ] as const) {
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [50, 95, 99]) {
      emit({
        system,
        figure: `${kind}_latency_p${q}`,
        value: Math.round(quantile(sorted, q / 100) * 100) / 100,
        unit: 'ms',
        rep,
        n: values.length,
        rate: LATENCY_RATE,
        ...base,
      });
    }
  }
}
