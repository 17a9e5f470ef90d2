'use client';
import { zodResolver } from '@hookform/resolvers/zod';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import cronstrue from 'cronstrue';
import { useForm } from 'react-hook-form';
import type { z } from 'zod';
import type { BeatDefinition } from '@lovage/runtime/schedule';
import { Button, Card, Field, Input, Select, errorAria } from '@/components/ui';
import {
  scheduleFormFields,
  scheduleInput,
  toFormValues,
  type ScheduleFormValues,
} from '@/server/routers/schedules/schedule.schema';
import { errorMessage, fieldIssues, useTRPC } from '@/trpc/react';

export type Outcome = { tone: 'success' | 'error'; text: string } | null;

/** What a cron says in words as it is typed; nothing while it is not a cron yet. */
function cronWords(cron: string): string | null {
  if (cron.trim().split(/\s+/).length !== 5) return null;
  try {
    return cronstrue.toString(cron, { use24HourTimeFormat: true, verbose: true });
  } catch {
    return null;
  }
}

/**
 * Create or edit a console-defined schedule (admins). The procedure's own schema checks the form; the
 * server adds what only it can tell (an unknown task, a name taken), shown under the field it concerns.
 */
export function ScheduleForm({
  editing,
  onDone,
  onOutcome,
}: {
  /** The entry being edited; none: a new one. */
  editing?: { name: string; definition: BeatDefinition };
  onDone: () => void;
  onOutcome: (o: Outcome) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const facets = useQuery(trpc.tasks.facets.queryOptions());
  const form = useForm<ScheduleFormValues, unknown, z.output<typeof scheduleInput>>({
    resolver: zodResolver(scheduleInput),
    defaultValues: toFormValues(editing?.name, editing?.definition),
  });
  const settle = {
    onSuccess: (r: { message: string }) => {
      onOutcome({ tone: 'success', text: r.message });
      onDone();
    },
    onError: (e: Parameters<typeof errorMessage>[0]) => {
      for (const i of fieldIssues(e)) {
        const field = i.path[0] as keyof ScheduleFormValues;
        if (field in scheduleFormFields.shape) form.setError(field, { message: i.message });
      }
      onOutcome({ tone: 'error', text: `Not saved: ${errorMessage(e)}` });
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.schedules.pathKey() }),
  };
  const create = useMutation(trpc.schedules.create.mutationOptions(settle));
  const update = useMutation(trpc.schedules.update.mutationOptions(settle));
  const save = editing ? update : create;
  const e = form.formState.errors;
  const kind = form.watch('kind');
  const words = kind === 'cron' ? cronWords(form.watch('cron')) : null;
  const id = (f: string) => `schedule-${f}`;
  return (
    <Card title={editing ? `Edit ${editing.name}` : 'New schedule'}>
      <form
        noValidate
        aria-label={editing ? `Edit schedule ${editing.name}` : 'New schedule'}
        onSubmit={form.handleSubmit(() => save.mutate(form.getValues()))}
        className="grid gap-3 md:grid-cols-3"
      >
        <Field id={id('name')} label="Name" error={e.name?.message}>
          <Input
            id={id('name')}
            readOnly={!!editing}
            {...errorAria(id('name'), e.name)}
            {...form.register('name')}
          />
        </Field>
        <Field id={id('task')} label="Task" error={e.task?.message} hint="A task name a worker registered">
          <Input
            id={id('task')}
            list={id('task-names')}
            autoComplete="off"
            {...errorAria(id('task'), e.task)}
            {...form.register('task')}
          />
          <datalist id={id('task-names')}>
            {facets.data?.names.map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
        </Field>
        <Field id={id('kind')} label="Runs">
          <Select id={id('kind')} {...form.register('kind')}>
            <option value="interval">every so many seconds</option>
            <option value="cron">on a cron schedule</option>
          </Select>
        </Field>
        {kind === 'interval' ? (
          <Field id={id('interval')} label="Interval (seconds)" error={e.interval?.message}>
            <Input
              id={id('interval')}
              inputMode="decimal"
              {...errorAria(id('interval'), e.interval)}
              {...form.register('interval')}
            />
          </Field>
        ) : (
          <Field
            id={id('cron')}
            label="Cron (minute hour day-of-month month day-of-week)"
            error={e.cron?.message}
            hint={words ?? 'Five fields, as in crontab: 30 4 * * 1-5'}
          >
            <Input
              id={id('cron')}
              className="font-mono"
              {...errorAria(id('cron'), e.cron)}
              {...form.register('cron')}
            />
          </Field>
        )}
        <Field
          id={id('timezone')}
          label="Timezone"
          error={e.timezone?.message}
          hint="IANA name; a cron is read in it"
        >
          <Input
            id={id('timezone')}
            {...errorAria(id('timezone'), e.timezone)}
            {...form.register('timezone')}
          />
        </Field>
        <Field id={id('queue')} label="Queue" error={e.queue?.message} hint="Empty: the app's routing">
          <Input id={id('queue')} {...errorAria(id('queue'), e.queue)} {...form.register('queue')} />
        </Field>
        <Field id={id('args')} label="Args (JSON list)" error={e.args?.message}>
          <Input
            id={id('args')}
            className="font-mono"
            {...errorAria(id('args'), e.args)}
            {...form.register('args')}
          />
        </Field>
        <Field id={id('kwargs')} label="Kwargs (JSON object)" error={e.kwargs?.message}>
          <Input
            id={id('kwargs')}
            className="font-mono"
            {...errorAria(id('kwargs'), e.kwargs)}
            {...form.register('kwargs')}
          />
        </Field>
        <Field id={id('reason')} label="Reason (audit log)" error={e.reason?.message}>
          <Input id={id('reason')} {...errorAria(id('reason'), e.reason)} {...form.register('reason')} />
        </Field>
        <div className="flex gap-2 md:col-span-3">
          <Button type="submit" disabled={save.isPending}>
            {editing ? 'Save schedule' : 'Create schedule'}
          </Button>
          <Button variant="secondary" onClick={onDone}>
            Cancel
          </Button>
        </div>
      </form>
    </Card>
  );
}
