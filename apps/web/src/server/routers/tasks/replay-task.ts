import 'server-only';
import { TRPCError } from '@trpc/server';
import { maskSecrets } from '../../presenters/mask';
import { audited } from '../../services/audited';
import { operatorProcedure } from '../../trpc/init';
import { replayTaskInput } from './replay-task.schema';
import { FINAL_STATES } from './task-states';

/** The stored JSON arguments, or null when the index has none (a Celery worker's events give only reprs). */
function stored(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/**
 * `edited` with every value the form showed masked and the operator left as shown put back to the
 * original's: the form shows secrets masked (`maskSecrets`), so "****" sent back means "keep it". Only where
 * the original at the same place masks to exactly what came back; anything else is taken as typed.
 */
export function restoreMasked(edited: unknown, original: unknown): unknown {
  if (typeof edited === 'string' && original !== undefined && original !== null) {
    return edited !== '' &&
      JSON.stringify(maskSecrets({ v: original }).v) === JSON.stringify(edited) &&
      JSON.stringify(original) !== JSON.stringify(edited)
      ? original
      : edited;
  }
  if (Array.isArray(edited)) {
    const o = Array.isArray(original) ? original : [];
    return edited.map((v, i) => restoreMasked(v, o[i]));
  }
  if (edited && typeof edited === 'object') {
    const o = original && typeof original === 'object' && !Array.isArray(original) ? original : {};
    return Object.fromEntries(
      Object.entries(edited).map(([k, v]) => [k, restoreKey(k, v, (o as Record<string, unknown>)[k])]),
    );
  }
  return edited;
}

/** Under a secret-looking key the whole value was masked ("****"): that string back keeps the original. */
function restoreKey(key: string, edited: unknown, original: unknown): unknown {
  if (original !== undefined && edited === '****') {
    const masked = maskSecrets({ [key]: original })[key];
    if (masked === '****') return original;
  }
  return restoreMasked(edited, original);
}

/**
 * Sends a finished task again with the same or edited arguments and options, as a new task whose parent is
 * the old one (so it is listed among its children). Audited with the arguments and options before and
 * after (masked), so the entry shows what was changed.
 */
export const replayTask = operatorProcedure.input(replayTaskInput).mutation(async ({ ctx, input }) => {
  const { lovage } = ctx.services;
  const record = await lovage.taskIndex.get(input.id);
  if (!record) throw new TRPCError({ code: 'NOT_FOUND', message: `No task ${input.id} in the index.` });
  if (!record.name) {
    throw new TRPCError({ code: 'PRECONDITION_FAILED', message: 'cannot replay: the task name is unknown' });
  }
  if (!FINAL_STATES.includes(record.state)) {
    throw new TRPCError({
      code: 'PRECONDITION_FAILED',
      message: `cannot replay: the task is still ${record.state}; revoke it first`,
    });
  }
  const originalArgs = stored(record.argsJson);
  const originalKwargs = stored(record.kwargsJson);
  const args = restoreMasked(input.args, originalArgs) as unknown[];
  const kwargs = restoreMasked(input.kwargs, originalKwargs) as Record<string, unknown>;
  const queue = input.queue ?? record.queue ?? undefined;
  const shown = (a: unknown, k: unknown) => maskSecrets({ args: a, kwargs: k });
  return audited(
    ctx.services,
    ctx.user,
    {
      action: 'task.replay',
      target: record.id,
      before: {
        name: record.name,
        ...shown(originalArgs, originalKwargs),
        queue: record.queue,
        countdown: null,
        priority: null,
        newTaskId: null,
      },
      reason: input.reason ?? null,
    },
    async () => {
      const sent = await lovage.app.sendTask(record.name!, args, kwargs, {
        parentId: record.id,
        rootId: record.rootId ?? record.id,
        ...(queue ? { queue } : {}),
        ...(input.countdown !== undefined ? { countdown: input.countdown } : {}),
        ...(input.priority !== undefined ? { priority: input.priority } : {}),
      });
      return {
        result: { newTaskId: sent.id, message: `Replayed as task ${sent.id}.` },
        after: {
          name: record.name,
          ...shown(args, kwargs),
          queue: queue ?? null,
          countdown: input.countdown ?? null,
          priority: input.priority ?? null,
          newTaskId: sent.id,
        },
      };
    },
  );
});
