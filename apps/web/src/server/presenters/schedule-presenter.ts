import 'server-only';
import cronstrue from 'cronstrue';
import type { BeatEntryState, BeatRun, StoredBeatEntry } from '@lovage/runtime';
import { definitionSchedule, nextDue, scheduleKey, type BeatDefinition } from '@lovage/runtime/schedule';
import { plural } from '../../components/plural';
import type { LovageClients } from '../services/lovage';

/** A run of an entry with its task's state as the console knows it. */
export interface ScheduleRunView extends BeatRun {
  /** From the task index, else the result backend; PENDING when neither knows it yet (as Celery says). */
  state: string;
}

export interface ScheduleView {
  name: string;
  source: 'code' | 'console';
  definition: BeatDefinition;
  /** The schedule in plain words ("At 04:30 AM, Monday through Friday", "Every 5 seconds"). */
  words: string;
  /** As defined: `every 5s` or the cron expression. */
  raw: string;
  enabled: boolean;
  /**
   * Epoch ms of the next run as the running beat planned it; when beat has not planned it yet (new or
   * changed, or no beat running), the next due time from now, and `planned` false.
   */
  next: number | null;
  planned: boolean;
  last: ScheduleRunView | null;
  updatedAt: number;
  updatedBy: string | null;
}

/** "Every 90 seconds", "Every 5 minutes", "Every 2 hours": the largest unit that divides the interval. */
function intervalWords(seconds: number): string {
  for (const [unit, size] of [
    ['day', 86_400],
    ['hour', 3600],
    ['minute', 60],
  ] as const) {
    if (seconds >= size && seconds % size === 0) {
      return seconds === size ? `Every ${unit}` : `Every ${plural(seconds / size, unit)}`;
    }
  }
  return seconds === 1 ? 'Every second' : `Every ${plural(seconds, 'second')}`;
}

/** The schedule in plain words; a cron through cronstrue, as its 24-hour clock reads in its timezone. */
export function scheduleWords(definition: BeatDefinition): string {
  if (typeof definition.schedule === 'number') return intervalWords(definition.schedule);
  try {
    return cronstrue.toString(definition.schedule, { use24HourTimeFormat: true, verbose: true });
  } catch {
    return definition.schedule;
  }
}

/** The states of the tasks `ids`: the task index first, the result backend for those it does not hold. */
export async function taskStates(lovage: LovageClients, ids: string[]): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  const unique = [...new Set(ids)];
  const records = await Promise.all(unique.map((id) => lovage.taskIndex.get(id).catch(() => null)));
  records.forEach((r, i) => r && states.set(unique[i]!, r.state));
  const missing = unique.filter((id) => !states.has(id));
  if (missing.length && lovage.app.backend) {
    const metas = await lovage.app.backend.getMany(missing).catch(() => missing.map(() => null));
    metas.forEach((m, i) => m && states.set(missing[i]!, m.status));
  }
  for (const id of unique) if (!states.has(id)) states.set(id, 'PENDING');
  return states;
}

export function presentSchedule(
  name: string,
  stored: StoredBeatEntry,
  options: {
    disabled: boolean;
    timing: BeatEntryState | undefined;
    last: ScheduleRunView | null;
    now: number;
  },
): ScheduleView {
  const { definition } = stored;
  const schedule = definitionSchedule(definition);
  const planned = !!options.timing && options.timing.schedule === scheduleKey(schedule);
  return {
    name,
    source: stored.source,
    definition,
    words: scheduleWords(definition),
    raw: typeof definition.schedule === 'number' ? `every ${definition.schedule}s` : definition.schedule,
    enabled: !options.disabled,
    next: options.disabled ? null : planned ? options.timing!.next : nextDue(schedule, options.now),
    planned,
    last: options.last,
    updatedAt: stored.updatedAt,
    updatedBy: stored.updatedBy,
  };
}
