/**
 * Whether a pool size fits the host a worker runs on, from what the worker measures (`inspect stats`: CPUs,
 * available memory, each prefork child's resident memory). Pure, so the Workers page and the Settings form
 * ask the same question the same way. A prefork child costs tens of MB, and every child or thread beyond a
 * few per CPU only queues for the CPU: 64 children on a 2-core host took its load to 57 and 5 GB.
 */
import type { HostResources, WorkerView } from '@/server/presenters/worker-presenter';

/** Executors per CPU beyond which prefork and threads pools only wait for the CPU. */
export const MAX_PER_CPU = 4;

export const megabytes = (bytes: number): string =>
  bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${Math.round(bytes / 1024 ** 2)} MB`;

/** prefork and threads pools run one task per executor; the async pool's slots cost next to nothing. */
function executorKind(pool: string | null): 'prefork' | 'threads' | null {
  if (pool?.includes('prefork')) return 'prefork';
  if (pool?.includes('thread')) return 'threads';
  return null;
}

/** What a worker's host has, for beside a pool-size field. */
export function describeHost(host: HostResources | null): string {
  if (!host) return 'CPUs and memory not reported';
  const { cpus, memoryFree, memoryTotal, childRss } = host;
  return (
    `${cpus} CPU${cpus === 1 ? '' : 's'}, ${megabytes(memoryFree)} free of ` +
    `${megabytes(memoryTotal)}` +
    (childRss !== null ? `, about ${megabytes(childRss)} per process` : '')
  );
}

/**
 * Why running `target` executors on this worker may be more than its host holds; empty when it fits or
 * when the worker reports nothing to judge by. `pool` is the pool kind to judge for (default: its own).
 */
export function capacityWarnings(
  w: Pick<WorkerView, 'hostname' | 'host' | 'pool'>,
  target: number,
  pool: string | null = w.pool.kind,
): string[] {
  const kind = executorKind(pool);
  if (!kind || !w.host) return [];
  const { cpus, memoryFree, childRss } = w.host;
  const noun = kind === 'prefork' ? 'processes' : 'threads';
  const warnings: string[] = [];
  if (target > cpus * MAX_PER_CPU) {
    warnings.push(
      `${w.hostname}: ${target} ${noun} on ${cpus} CPU${cpus === 1 ? '' : 's'} is more than ${MAX_PER_CPU} per CPU; ` +
        'CPU-bound tasks will only wait for each other.',
    );
  }
  // Only prefork children are measured one by one, and only the children added need memory not yet used.
  const running = executorKind(w.pool.kind) === 'prefork' ? (w.pool.processes ?? 0) : 0;
  if (kind === 'prefork' && childRss !== null && (target - running) * childRss > memoryFree) {
    warnings.push(
      `${w.hostname}: ${target} processes of about ${megabytes(childRss)} each need ` +
        `${megabytes((target - running) * childRss)} more memory; ${megabytes(memoryFree)} is free.`,
    );
  }
  return warnings;
}

/** A resize worth a second look: more than double, less than half, or by 8 or more. */
export function isLargeChange(from: number, to: number): boolean {
  return Math.abs(to - from) >= 8 || to > from * 2 || to < from / 2;
}
