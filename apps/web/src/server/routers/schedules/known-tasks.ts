import 'server-only';
import type { LovageClients } from '../../services/lovage';
import { fieldError } from './field-error';

/**
 * The task names the console can vouch for: those the running workers registered (`inspect registered`,
 * Celery's `name [attributes]` read as the name), those the task index has seen run, and those of the
 * stored schedule entries. The console does not load the app, so this is all "known" can mean here.
 */
export async function knownTasks(lovage: LovageClients): Promise<Set<string>> {
  const [replies, seen, stored] = await Promise.all([
    lovage.inspectEveryWorker('registered').catch(() => ({})),
    lovage.taskIndex.taskNames().catch(() => [] as string[]),
    lovage.app.state.beat.definitions(),
  ]);
  const names = new Set(seen);
  for (const reply of Object.values(replies)) {
    if (Array.isArray(reply)) for (const r of reply) names.add(String(r).split(' ')[0]!);
  }
  for (const entry of Object.values(stored)) names.add(entry.definition.task);
  return names;
}

/**
 * Refuses a task name the console knows nothing of, as a field error on `task`. When it knows no name at
 * all (no worker answering, an empty index) it cannot tell a typo from a task yet to be deployed, and lets
 * the name through: a run of a task nobody registered ends in the dead letters, where it shows.
 */
export async function checkTaskKnown(lovage: LovageClients, task: string): Promise<void> {
  const known = await knownTasks(lovage);
  if (known.size === 0 || known.has(task)) return;
  const some = [...known].sort().slice(0, 5).join(', ');
  const message = `is unknown: no running worker registered ${task} and no task of that name ran (known: ${some}${known.size > 5 ? ', …' : ''})`;
  throw fieldError('BAD_REQUEST', 'task', message);
}
