/**
 * `npm run bench`: Lovage measured the way users run it, BullMQ 6.7 and Celery 5.2.6 beside it, on Redis and
 * on RabbitMQ. See docs/PERFORMANCE.md for what each figure means. Every worker is a separate process started
 * as its users start one (`lovage worker -A bench/fixtures/bench-tasks.ts --pool async -c 50`, a BullMQ worker
 * script, `celery worker -P prefork -c 2`). Repetitions interleave the systems (the order alternates), so a
 * noisy moment hurts both sides of a ratio alike.
 *
 * Output: one JSON line per figure and repetition, the monitor, task-index and pool figures (bench/monitor.mts,
 * bench/index-queries.mts, bench/pools.mts), then the summary lines (median, min–max, paired ratios) and a markdown table.
 *
 * Knobs: BENCH_N (20000), BENCH_REPS (3), BENCH_CONCURRENCY (50), BENCH_BULK (100,1000), BENCH_LATENCY_RATE
 * (500), BENCH_LATENCY_N (5000), BENCH_CELERY_N (5000), BENCH_HELD_ETA (10000), BENCH_REDIS,
 * BENCH_PROFILE_DIR; BENCH_SKIP_<X>=1 leaves out ENQUEUE, DRAIN, PREFORK, EVENTS, LATENCY, MEMORY, BULLMQ, CELERY, AMQP, MONITOR, INDEX, POOLS.
 * Everything lives under unique key prefixes, queue names and a RabbitMQ vhost of its own, deleted at the end.
 */
import { bullDrain, bullEnqueue, bullLatency } from './bullmq.mjs';
import { celeryDrain, celeryPresent } from './celery.mjs';
import { benchVhost, BULK_SIZES, emit, figures, killWorkers, REDIS, REPS, skip } from './lib.mjs';
import {
  lovageDrain,
  lovageEnqueue,
  lovageLatency,
  lovageMemory,
  type DrainConfig,
  type LovageTarget,
} from './lovage.mjs';
import { summarize } from './summary.mjs';

const redis: LovageTarget = { system: 'lovage', broker: REDIS };
const rabbit = skip('amqp') ? null : await benchVhost();
const amqp: LovageTarget | null = rabbit && {
  system: 'lovage-amqp',
  broker: rabbit.url,
  state: REDIS,
};
// Interrupted: no worker left running and no vhost left behind (keys under this run's prefixes may remain).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killWorkers();
    void (rabbit?.drop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}
const bull = !skip('bullmq');
const celery = !skip('celery') && (await celeryPresent());

const drains: DrainConfig[] = [];
for (const pool of skip('prefork') ? (['async'] as const) : (['async', 'prefork'] as const)) {
  for (const results of [true, false]) {
    for (const events of skip('events') ? [false] : [false, true]) drains.push({ pool, results, events });
  }
}

/** Runs the parts in order, or in reverse on even repetitions. */
async function interleaved(rep: number, parts: (false | null | (() => Promise<unknown>))[]): Promise<void> {
  const todo = parts.filter((p): p is () => Promise<unknown> => typeof p === 'function');
  for (const part of rep % 2 ? todo : todo.reverse()) await part();
}

const loadRss = (system: string, rep: number) => (mb: number | null) =>
  emit({ system, figure: 'rss_load', value: mb ?? NaN, unit: 'MB', rep });

try {
  for (let rep = 1; rep <= REPS; rep++) {
    if (!skip('enqueue')) {
      await interleaved(rep, [
        () => lovageEnqueue(redis, rep, BULK_SIZES),
        bull && (() => bullEnqueue(rep, BULK_SIZES)),
        amqp && (() => lovageEnqueue(amqp, rep, BULK_SIZES)),
      ]);
    }
    if (!skip('drain')) {
      for (const cfg of drains) {
        const headline = cfg.pool === 'async' && !cfg.events;
        await interleaved(rep, [
          async () => {
            const peak = await lovageDrain(redis, rep, cfg);
            if (headline && cfg.results) loadRss('lovage', rep)(peak);
          },
          headline &&
            bull &&
            (async () => {
              const peak = await bullDrain(rep, cfg.results);
              if (cfg.results) loadRss('bullmq', rep)(peak);
            }),
          headline && amqp && (() => lovageDrain(amqp, rep, cfg)),
        ]);
      }
    }
    if (!skip('latency')) {
      await interleaved(rep, [
        () => lovageLatency(redis, rep),
        bull && (() => bullLatency(rep)),
        amqp && (() => lovageLatency(amqp, rep)),
      ]);
    }
    if (!skip('memory')) await lovageMemory(redis, rep);
    if (celery) {
      await celeryDrain('celery', REDIS, rep);
      if (rabbit) await celeryDrain('celery-amqp', rabbit.url, rep);
    }
  }
  if (!skip('monitor')) await (await import('./monitor.mjs')).runMonitorBench();
  if (!skip('index')) await (await import('./index-queries.mjs')).runIndexBench();
  if (!skip('pools')) await (await import('./pools.mjs')).runPoolBench();
  if (figures.length) {
    const table = summarize(figures, (line) =>
      process.stdout.write(`${JSON.stringify({ ...line, at: new Date().toISOString() })}\n`),
    );
    process.stdout.write(`\n${table}\n`);
  }
} finally {
  await rabbit?.drop();
}
process.exit(0);
