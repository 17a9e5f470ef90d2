import 'server-only';
import { TRPCError } from '@trpc/server';
import type { TaskIndex, TaskRecord } from '@lovage/runtime';

/**
 * The most members a group action acts on: one revoke broadcast (and one audit entry) names every id, so
 * a larger group is refused rather than half done.
 */
export const GROUP_ACTION_LIMIT = 10_000;

/**
 * Every member of `group` the index holds. Refuses a group it holds none of (NOT_FOUND, naming the field)
 * and one larger than GROUP_ACTION_LIMIT, before anything is changed.
 */
export async function groupMembers(index: TaskIndex, group: string): Promise<TaskRecord[]> {
  const { total, items } = await index.groupMembers(group, GROUP_ACTION_LIMIT);
  if (total === 0) {
    throw new TRPCError({ code: 'NOT_FOUND', message: `Group: no task of group ${group} in the index.` });
  }
  if (total > GROUP_ACTION_LIMIT) {
    throw new TRPCError({
      code: 'PRECONDITION_FAILED',
      message: `Group ${group} has ${total} members; the console acts on at most ${GROUP_ACTION_LIMIT}.`,
    });
  }
  return items;
}

/** Members per state, for the audit entry's context. */
export function stateCounts(members: readonly TaskRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of members) out[m.state] = (out[m.state] ?? 0) + 1;
  return out;
}
