import 'server-only';
import { TRPCError } from '@trpc/server';
import { presentSchedule, taskStates, type ScheduleView } from '../../presenters/schedule-presenter';
import type { LovageClients } from '../../services/lovage';

/** Every schedule entry the state store holds (code ones as the running beat published them), by name. */
export async function readSchedules(lovage: LovageClients, only?: string): Promise<ScheduleView[]> {
  const store = lovage.app.state.beat;
  const [definitions, disabled, timing] = await Promise.all([
    store.definitions(),
    store.disabled(),
    store.entries(),
  ]);
  const names = Object.keys(definitions)
    .filter((n) => only === undefined || n === only)
    .sort();
  const lasts = await Promise.all(names.map((n) => store.history(n, 1).then((runs) => runs[0] ?? null)));
  const states = await taskStates(
    lovage,
    lasts.flatMap((r) => (r ? [r.taskId] : [])),
  );
  const off = new Set(disabled);
  const now = Date.now();
  return names.map((name, i) => {
    const last = lasts[i];
    return presentSchedule(name, definitions[name]!, {
      disabled: off.has(name),
      timing: timing[name],
      last: last ? { ...last, state: states.get(last.taskId)! } : null,
      now,
    });
  });
}

/** One entry, or NOT_FOUND naming it. */
export async function readSchedule(lovage: LovageClients, name: string): Promise<ScheduleView> {
  const [view] = await readSchedules(lovage, name);
  if (!view) throw notFound(name);
  return view;
}

export function notFound(name: string): TRPCError {
  return new TRPCError({
    code: 'NOT_FOUND',
    message: `No schedule ${name}: someone deleted it, or the beat that defines it in code has not started yet.`,
  });
}

/** What the audit log keeps of an entry, before or after a change. */
export function auditedState(view: Pick<ScheduleView, 'definition' | 'enabled' | 'source'> | null) {
  return view && { source: view.source, enabled: view.enabled, ...view.definition };
}
