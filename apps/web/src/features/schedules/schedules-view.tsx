'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import Link from 'next/link';
import { useState } from 'react';
import { DataTable } from '@/components/data-table';
import { Time } from '@/components/time';
import { Alert, Badge, Button, PageHeader, StateBadge } from '@/components/ui';
import { useUrlState } from '@/components/use-url-state';
import type { ScheduleView } from '@/server/presenters/schedule-presenter';
import { errorMessage, useTRPC } from '@/trpc/react';
import { useCan } from '../auth/session-context';
import { ScheduleForm, type Outcome } from './schedule-form';
import { ScheduleHistory } from './schedule-history';

/** Enable/disable and Run now (operators); Edit and Delete of console entries (admins). */
function ScheduleActions({
  schedule,
  onEdit,
  onOutcome,
}: {
  schedule: ScheduleView;
  onEdit: () => void;
  onOutcome: (o: Outcome) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canOperate = useCan('operator');
  const canAdmin = useCan('admin');
  const settle = {
    onSuccess: (r: { message: string }) => onOutcome({ tone: 'success', text: r.message }),
    onError: (e: Parameters<typeof errorMessage>[0]) => onOutcome({ tone: 'error', text: errorMessage(e) }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.schedules.pathKey() }),
  };
  const enable = useMutation(trpc.schedules.enable.mutationOptions(settle));
  const disable = useMutation(trpc.schedules.disable.mutationOptions(settle));
  const run = useMutation(trpc.schedules.run.mutationOptions(settle));
  const remove = useMutation(trpc.schedules.delete.mutationOptions(settle));
  const busy = enable.isPending || disable.isPending || run.isPending || remove.isPending;
  const ref = { name: schedule.name };
  if (!canOperate) return null;
  return (
    <div className="flex flex-wrap gap-1">
      {schedule.enabled ? (
        <Button
          variant="secondary"
          disabled={busy}
          aria-label={`Disable ${schedule.name}`}
          onClick={() => disable.mutate(ref)}
        >
          Disable
        </Button>
      ) : (
        <Button
          variant="secondary"
          disabled={busy}
          aria-label={`Enable ${schedule.name}`}
          onClick={() => enable.mutate(ref)}
        >
          Enable
        </Button>
      )}
      <Button
        variant="secondary"
        disabled={busy}
        aria-label={`Run ${schedule.name} now`}
        title="Send the task now, outside the schedule"
        onClick={() => run.mutate(ref)}
      >
        Run now
      </Button>
      {canAdmin && schedule.source === 'console' && (
        <>
          <Button variant="secondary" disabled={busy} aria-label={`Edit ${schedule.name}`} onClick={onEdit}>
            Edit
          </Button>
          <Button
            variant="danger"
            disabled={busy}
            aria-label={`Delete ${schedule.name}`}
            onClick={() => {
              if (window.confirm(`Delete the schedule ${schedule.name} and its run history?`))
                remove.mutate(ref);
            }}
          >
            Delete
          </Button>
        </>
      )}
    </div>
  );
}

export function SchedulesView() {
  const trpc = useTRPC();
  const canAdmin = useCan('admin');
  const { params, update } = useUrlState();
  const selected = params.get('schedule') ?? undefined;
  // Refreshed every few seconds: next and last runs move while the page is open.
  const schedules = useQuery({ ...trpc.schedules.find.queryOptions(), refetchInterval: 3000 });
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [form, setForm] = useState<{ editing?: ScheduleView } | null>(null);

  const columns: ColumnDef<ScheduleView, unknown>[] = [
    {
      header: 'Name',
      cell: ({ row }) => {
        const s = row.original;
        return (
          <div className="w-40 space-y-1 sm:w-52">
            <button
              type="button"
              onClick={() => update({ schedule: s.name })}
              className="break-all text-left font-medium text-emerald-800 hover:underline"
              aria-label={`Run history of ${s.name}`}
            >
              {s.name}
            </button>
            <div className="flex flex-wrap gap-1">
              <Badge
                tone={s.source === 'code' ? 'blue' : 'violet'}
                title={
                  s.source === 'code'
                    ? "In the app's beatSchedule"
                    : `Defined in the console${s.updatedBy ? ` by ${s.updatedBy}` : ''}`
                }
              >
                {s.source}
              </Badge>
              {s.enabled ? <Badge tone="green">enabled</Badge> : <Badge tone="amber">disabled</Badge>}
            </div>
            <ScheduleActions schedule={s} onOutcome={setOutcome} onEdit={() => setForm({ editing: s })} />
          </div>
        );
      },
    },
    {
      header: 'Task',
      cell: ({ row }) => {
        const d = row.original.definition;
        return (
          <div className="min-w-32 space-y-1">
            <div className="break-all font-mono text-xs">{d.task}</div>
            <div className="break-all font-mono text-xs text-slate-500">
              {JSON.stringify(d.args)} {JSON.stringify(d.kwargs)}
              {d.options.queue && <span className="block">queue {d.options.queue}</span>}
            </div>
          </div>
        );
      },
    },
    {
      header: 'Schedule',
      cell: ({ row }) => (
        <div className="min-w-40 space-y-1">
          <div>{row.original.words}</div>
          <div className="font-mono text-xs text-slate-500">
            {row.original.raw}
            {typeof row.original.definition.schedule === 'string' && ` (${row.original.definition.timezone})`}
          </div>
        </div>
      ),
    },
    {
      header: 'Next run',
      cell: ({ row }) => {
        const s = row.original;
        if (!s.enabled) return <span className="text-slate-500">disabled</span>;
        return (
          <div title={s.planned ? 'As the running beat planned it' : 'Once a beat picks the schedule up'}>
            <Time value={s.next} />
            {!s.planned && <span className="block text-xs text-slate-500">not planned by a beat yet</span>}
          </div>
        );
      },
    },
    {
      header: 'Last run',
      cell: ({ row }) => {
        const last = row.original.last;
        if (!last) return <span className="text-slate-500">never</span>;
        return (
          <div className="space-y-1" aria-label={`Last run of ${row.original.name}`}>
            <StateBadge state={last.state} />
            <Time value={last.sent} />
            <Link
              href={`/tasks/${encodeURIComponent(last.taskId)}`}
              className="block break-all font-mono text-xs text-emerald-800 hover:underline"
            >
              {last.taskId}
            </Link>
            {last.by !== 'beat' && <span className="block text-xs text-slate-500">run now by {last.by}</span>}
          </div>
        );
      },
    },
  ];

  return (
    <div className="space-y-3">
      <PageHeader title="Schedules">
        {canAdmin && !form && <Button onClick={() => setForm({})}>New schedule</Button>}
      </PageHeader>
      <p className="text-sm text-slate-600">
        Periodic tasks beat sends: those in the app&apos;s <code>beatSchedule</code> (code, shown once a beat
        has started) and those defined here (console). A change reaches the running beat within seconds.
      </p>
      {outcome && <Alert tone={outcome.tone}>{outcome.text}</Alert>}
      {form && (
        <ScheduleForm
          key={form.editing?.name ?? 'new'}
          editing={form.editing}
          onDone={() => setForm(null)}
          onOutcome={setOutcome}
        />
      )}
      <DataTable
        label="Schedules"
        columns={columns}
        data={schedules.data?.items}
        isLoading={schedules.isLoading}
        error={schedules.error ? errorMessage(schedules.error) : null}
        empty="No schedule yet: start a beat (lovage beat, or lovage worker -B) for the app's own, or create one here."
        rowKey={(s) => s.name}
      />
      {selected && <ScheduleHistory name={selected} onClose={() => update({ schedule: null })} />}
    </div>
  );
}
