/**
 * Celery 5.2.6 (Debian's python3-celery) as a further row: CELERY_N tasks sent one at a time by Celery's own
 * client (its enqueue figure), then drained by `celery worker -P prefork -c 2` started as a separate process,
 * results on Redis DB 1 seen through their publishes. On Redis under a unique global_keyprefix, or on a
 * RabbitMQ vhost of the run's own.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { deleteByPrefix } from './cleanup.mjs';
import {
  CELERY_N,
  Completions,
  drainTimes,
  emit,
  emitDrain,
  REDIS,
  RESULTS,
  spawnProc,
  uid,
  type Proc,
} from './lib.mjs';

const PYTHON = '/usr/bin/python3';
const DIR = fileURLToPath(new URL('./fixtures/', import.meta.url));
const exec = promisify(execFile);

/** Whether Celery can be imported by /usr/bin/python3. */
export async function celeryPresent(): Promise<boolean> {
  if (!existsSync(PYTHON)) return false;
  return exec(PYTHON, ['-c', 'import celery']).then(
    () => true,
    () => false,
  );
}

export async function celeryDrain(system: string, broker: string, rep: number): Promise<void> {
  const id = uid();
  const prefix = broker.startsWith('redis') ? `bench-celery-${id}:` : '';
  const queue = `bench-celery-${id}`;
  const runId = `bench-celery-${id}`;
  const env = {
    BENCH_BROKER: broker,
    BENCH_BACKEND: RESULTS,
    BENCH_PREFIX: prefix,
    BENCH_QUEUE: queue,
    PYTHONPATH: DIR,
    PYTHONDONTWRITEBYTECODE: '1',
  };
  let worker: Proc | null = null;
  let completions: Completions | null = null;
  try {
    const { stdout } = await exec(PYTHON, ['-m', 'celery_bench', String(CELERY_N), runId], {
      cwd: DIR,
      env: { ...process.env, ...env },
    });
    emit({
      system,
      figure: 'enqueue_one',
      value: Math.round(CELERY_N / Number(stdout.trim())),
      unit: '/s',
      rep,
      n: CELERY_N,
    });
    completions = await Completions.results(runId);
    worker = spawnProc(
      PYTHON,
      [
        '-m',
        'celery',
        '-A',
        'celery_bench',
        'worker',
        '-P',
        'prefork',
        '-c',
        '2',
        '-Q',
        queue,
        '-n',
        `${runId}@%h`,
      ],
      env,
      DIR,
    );
    await completions.waitFor(CELERY_N);
    emitDrain(
      system,
      'prefork_results_on_events_off',
      rep,
      drainTimes(worker.spawnedAt, completions, CELERY_N),
      {
        pool: 'prefork',
        concurrency: 2,
        n: CELERY_N,
      },
    );
  } finally {
    await worker?.stop();
    await completions?.close();
    if (prefix) await deleteByPrefix(REDIS, prefix, [0]);
    await deleteByPrefix(REDIS, `celery-task-meta-${runId}-`, [1]);
  }
}
