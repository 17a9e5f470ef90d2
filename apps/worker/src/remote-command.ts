/**
 * `lovage inspect <method>` and `lovage control <method> [args…]`: Celery's remote control from the command
 * line, against Lovage and Celery workers alike.
 *
 * Output follows `celery inspect`: one block per worker, `-> name: OK` and the payload, or `--json` for
 * the raw replies. Exit code 1 when no worker replied in time, 2 for usage errors.
 */
import type { App, BroadcastOptions, InspectMethod } from '@lovage/runtime';
import { connectApp, type ConnectOptions } from './connect';
import { UsageError } from './errors';

export interface RemoteOptions extends ConnectOptions {
  destination?: string[];
  timeout: number;
  json?: boolean;
}

export const CONTROL_METHODS = [
  'revoke',
  'rate_limit',
  'time_limit',
  'pool_grow',
  'pool_shrink',
  'add_consumer',
  'cancel_consumer',
  'enable_events',
  'disable_events',
  'heartbeat',
  'shutdown',
] as const;
export type ControlMethod = (typeof CONTROL_METHODS)[number];

type Replies = Array<Record<string, unknown>>;

function print(replies: Replies, json: boolean | undefined): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(Object.assign({}, ...replies) as object, null, 2)}\n`);
    return;
  }
  for (const reply of replies) {
    for (const [host, payload] of Object.entries(reply)) {
      const isError = typeof payload === 'object' && payload !== null && 'error' in payload;
      process.stdout.write(`-> ${host}: ${isError ? 'ERROR' : 'OK'}\n`);
      const body =
        typeof payload === 'object' &&
        payload !== null &&
        !Array.isArray(payload) &&
        Object.keys(payload).length === 1
          ? Object.values(payload)[0]
          : payload;
      const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
      if (Array.isArray(body) && body.length === 0) process.stdout.write('    - empty -\n');
      else process.stdout.write(`${(text ?? 'null').replace(/^/gm, '    ')}\n`);
    }
  }
  const n = replies.length;
  process.stdout.write(`\n${n} node${n === 1 ? '' : 's'} online.\n`);
}

async function withApp<T>(opts: RemoteOptions, fn: (app: App) => Promise<T>): Promise<T> {
  const app = await connectApp(opts);
  try {
    await app.broker.ping(5000);
    return await fn(app);
  } finally {
    await app.close().catch(() => undefined);
  }
}

function broadcastOptions(opts: RemoteOptions): BroadcastOptions {
  return { destination: opts.destination, timeout: opts.timeout };
}

function finish(replies: Replies, opts: RemoteOptions): void {
  if (replies.length === 0) {
    process.stderr.write('lovage: error: no nodes replied within time constraint\n');
    process.exitCode = 1;
    return;
  }
  print(replies, opts.json);
}

export async function runInspect(method: InspectMethod, args: string[], opts: RemoteOptions): Promise<void> {
  const extra: Record<string, unknown> = method === 'query_task' ? { ids: args } : {};
  if (method === 'query_task' && args.length === 0) throw new UsageError('query_task needs task ids');
  await withApp(opts, async (app) => {
    const replies = await app.control.broadcast(
      method,
      { ...inspectDefaults(method), ...extra },
      broadcastOptions(opts),
    );
    finish(replies, opts);
  });
}

function inspectDefaults(method: InspectMethod): Record<string, unknown> {
  if (method === 'active') return { safe: null };
  if (method === 'registered') return { taskinfoitems: [] };
  if (method === 'conf') return { with_defaults: false };
  return {};
}

function number(value: string | undefined, what: string): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0)
    throw new UsageError(`${what} must be a positive number, got ${JSON.stringify(value ?? '')}`);
  return n;
}

/** The control command's arguments, from positional words as `celery control` takes them. */
export function controlArguments(
  method: ControlMethod,
  args: string[],
  flags: { terminate?: boolean; signal?: string },
): Record<string, unknown> {
  const need = (n: number, usage: string) => {
    if (args.length < n) throw new UsageError(`usage: lovage control ${method} ${usage}`);
  };
  switch (method) {
    case 'revoke':
      need(1, '<task id>… [--terminate]');
      return {
        task_id: args.length === 1 ? args[0] : args,
        terminate: flags.terminate ?? false,
        signal: flags.signal ?? 'SIGTERM',
      };
    case 'rate_limit':
      need(2, '<task name> <rate limit, e.g. 10/m>');
      if (!/^\d+(\.\d+)?(\/[smh])?$/.test(args[1]!))
        throw new UsageError(
          `invalid rate limit ${JSON.stringify(args[1])}: expected e.g. 10/s, 100/m or 1000/h`,
        );
      return { task_name: args[0], rate_limit: args[1] };
    case 'time_limit': {
      need(2, '<task name> <soft seconds> [hard seconds]');
      const soft = number(args[1], 'the soft time limit');
      const hard = args[2] === undefined ? null : number(args[2], 'the hard time limit');
      if (hard !== null && soft >= hard)
        throw new UsageError('the soft time limit must be below the hard one');
      return { task_name: args[0], soft, hard };
    }
    case 'pool_grow':
    case 'pool_shrink': {
      const n = args[0] === undefined ? 1 : Number(args[0]);
      if (!Number.isInteger(n) || n < 1)
        throw new UsageError(`${method} takes a whole number >= 1, got ${JSON.stringify(args[0])}`);
      return { n };
    }
    case 'add_consumer':
      need(1, '<queue>');
      return { queue: args[0], exchange: null, exchange_type: 'direct', routing_key: null };
    case 'cancel_consumer':
      need(1, '<queue>');
      return { queue: args[0] };
    default:
      return {};
  }
}

export async function runControl(
  method: ControlMethod,
  args: string[],
  opts: RemoteOptions & { terminate?: boolean; signal?: string },
): Promise<void> {
  const payload = controlArguments(method, args, opts);
  await withApp(opts, async (app) => {
    if (method === 'shutdown') {
      await app.control.broadcast('shutdown', {}, { ...broadcastOptions(opts), reply: false });
      process.stdout.write('shutdown sent\n');
      return;
    }
    if (method === 'revoke') {
      // Also recorded in the state store, so workers started later honour it.
      const ids = Array.isArray(payload.task_id)
        ? (payload.task_id as string[])
        : [payload.task_id as string];
      await app.state.revoked.add(ids, app.config.revokedTtl);
    }
    finish(await app.control.broadcast(method, payload, broadcastOptions(opts)), opts);
  });
}
