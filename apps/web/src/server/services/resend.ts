import 'server-only';
import { TRPCError } from '@trpc/server';
import type { TaskRecord } from '@lovage/runtime';
import { retryBlockedReason } from '../presenters/task-presenter';
import type { LovageClients } from './lovage';

function parseJson<T>(text: string, check: (v: unknown) => v is T, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new TRPCError({
      code: 'PRECONDITION_FAILED',
      message: `cannot retry: the stored ${what} are not JSON`,
    });
  }
  if (!check(value))
    throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `cannot retry: bad ${what}` });
  return value;
}

const isArray = (v: unknown): v is unknown[] => Array.isArray(v);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Sends a finished task again with its original arguments, as a new task whose parent is the old one (so
 * the old task's detail and its workflow list it among its children), on the old one's queue. Returns the
 * new task's id. Refuses (PRECONDITION_FAILED) a task still in flight, which would run twice, and one whose
 * arguments are unknown as JSON (all a Celery worker's events give is their repr).
 */
export async function resendTask(lovage: LovageClients, record: TaskRecord): Promise<string> {
  const blocked = retryBlockedReason(record);
  if (blocked) throw new TRPCError({ code: 'PRECONDITION_FAILED', message: blocked });
  const args = parseJson(record.argsJson!, isArray, 'arguments');
  const kwargs = record.kwargsJson ? parseJson(record.kwargsJson, isObject, 'keyword arguments') : {};
  const sent = await lovage.app.sendTask(record.name!, args, kwargs, {
    parentId: record.id,
    rootId: record.rootId ?? record.id,
    ...(record.queue ? { queue: record.queue } : {}),
  });
  return sent.id;
}
