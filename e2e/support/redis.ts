/**
 * Redis for the stack fixture: readiness checks and the cleanup of one run. Only keys under the run's prefix
 * and the results of the run's tasks are deleted; the databases are never flushed.
 */
import { Redis } from 'ioredis';

function connect(url: string): Redis {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000 });
  r.on('error', () => undefined);
  return r;
}

export async function pingRedis(url: string): Promise<void> {
  const r = connect(url);
  try {
    await r.connect();
    await r.ping();
  } catch (err) {
    throw new Error(`Redis does not answer at ${url} (${(err as Error).message}); the e2e stack needs it`);
  } finally {
    r.disconnect();
  }
}

/** Whether the monitor has recorded the worker's heartbeat in the task index: worker and monitor are up. */
export async function workerIndexed(stateUrl: string, prefix: string, hostname: string): Promise<boolean> {
  const r = connect(stateUrl);
  try {
    return (await r.hexists(`${prefix}lovage:index:workers`, hostname)) === 1;
  } finally {
    r.disconnect();
  }
}

async function deleteMatching(r: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await r.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** Escapes glob characters so the prefix matches itself only. */
const globLiteral = (s: string) => s.replace(/[*?[\]\\]/g, '\\$&');

/**
 * Deletes the results of the run's tasks (every id in the task index, plus `taskIds`) and every key under the
 * prefix in the state store's Redis (the broker's keys too when the broker is Redis; an AMQP run's queues go
 * with its vhost). Returns what it deleted.
 */
export async function deleteRunData(opts: {
  stateUrl: string;
  resultBackendUrl: string;
  prefix: string;
  taskIds: Iterable<string>;
}): Promise<{ keys: number; results: number }> {
  const broker = connect(opts.stateUrl);
  const results = connect(opts.resultBackendUrl);
  try {
    const indexed = await broker.zrange(`${opts.prefix}lovage:index:by-time`, 0, -1);
    const ids = [...new Set([...indexed, ...opts.taskIds])];
    let resultCount = 0;
    for (let i = 0; i < ids.length; i += 500) {
      const keys = ids.slice(i, i + 500).map((id) => `celery-task-meta-${id}`);
      if (keys.length) resultCount += await results.del(...keys);
    }
    const keys = await deleteMatching(broker, `${globLiteral(opts.prefix)}*`);
    return { keys, results: resultCount };
  } finally {
    broker.disconnect();
    results.disconnect();
  }
}
