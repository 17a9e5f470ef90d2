'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import { useState, type FormEvent } from 'react';
import { DataTable } from '@/components/data-table';
import { Alert, Badge, Button, Card, Input, PageHeader, Select, formatTime } from '@/components/ui';
import type { WorkerView } from '@/server/presenters/worker-presenter';
import { errorMessage, useTRPC } from '@/trpc/react';
import { useCan } from '../auth/session-context';
import { LiveBadge, useLiveWorkers } from '../tasks/use-live-tasks';

type Outcome = { tone: 'success' | 'error'; text: string } | null;

function PoolControls({ worker, onOutcome }: { worker: WorkerView; onOutcome: (o: Outcome) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [n, setN] = useState(1);
  const resize = useMutation(
    trpc.workers.resizePool.mutationOptions({
      onSuccess: (r) => onOutcome({ tone: 'success', text: r.message }),
      onError: (e) => onOutcome({ tone: 'error', text: errorMessage(e) }),
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.workers.find.queryKey() }),
    }),
  );
  return (
    <div className="flex items-center gap-1">
      <Input
        type="number"
        min={1}
        max={100}
        value={n}
        onChange={(e) => setN(Math.max(1, Number(e.target.value) || 1))}
        className="w-16 shrink-0"
        aria-label={`Processes to add or remove on ${worker.hostname}`}
      />
      <Button
        variant="secondary"
        disabled={resize.isPending}
        aria-label={`Grow pool of ${worker.hostname}`}
        onClick={() => resize.mutate({ hostname: worker.hostname, direction: 'grow', n })}
      >
        Grow
      </Button>
      <Button
        variant="secondary"
        disabled={resize.isPending}
        aria-label={`Shrink pool of ${worker.hostname}`}
        onClick={() => resize.mutate({ hostname: worker.hostname, direction: 'shrink', n })}
      >
        Shrink
      </Button>
    </div>
  );
}

function LiveLimitForm() {
  const trpc = useTRPC();
  const [kind, setKind] = useState<'rate' | 'time'>('rate');
  const [outcome, setOutcome] = useState<Outcome>(null);
  const mutation = useMutation(
    trpc.workers.setTaskLimit.mutationOptions({
      onSuccess: (r) => setOutcome({ tone: 'success', text: r.message }),
      onError: (e) => setOutcome({ tone: 'error', text: errorMessage(e) }),
    }),
  );
  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const text = (k: string) => String(f.get(k) ?? '').trim();
    const seconds = (k: string) => (text(k) === '' ? null : Number(text(k)));
    const taskName = text('taskName');
    if (kind === 'rate') mutation.mutate({ kind, taskName, rateLimit: text('rateLimit') || null });
    else mutation.mutate({ kind, taskName, hard: seconds('hard'), soft: seconds('soft') });
  }
  return (
    <form onSubmit={onSubmit} aria-label="Change a task's limits now" className="space-y-3">
      <p className="text-xs text-slate-500">
        Sent to every running worker by remote control; a worker that restarts goes back to the stored
        settings (change those on the Settings page).
      </p>
      <div className="grid gap-2 md:grid-cols-5">
        <label className="text-xs text-slate-600">
          Task name
          <Input name="taskName" required aria-label="Task name" />
        </label>
        <label className="text-xs text-slate-600">
          Limit
          <Select
            value={kind}
            onChange={(e) => setKind(e.target.value as 'rate' | 'time')}
            aria-label="Limit kind"
          >
            <option value="rate">Rate limit</option>
            <option value="time">Time limits</option>
          </Select>
        </label>
        {kind === 'rate' ? (
          <label className="text-xs text-slate-600">
            Rate (10/s, 100/m; empty: none)
            <Input name="rateLimit" aria-label="Rate limit" />
          </label>
        ) : (
          <>
            <label className="text-xs text-slate-600">
              Hard limit (s)
              <Input name="hard" type="number" min={0} step="any" aria-label="Hard time limit" />
            </label>
            <label className="text-xs text-slate-600">
              Soft limit (s)
              <Input name="soft" type="number" min={0} step="any" aria-label="Soft time limit" />
            </label>
          </>
        )}
        <div className="flex items-end">
          <Button type="submit" disabled={mutation.isPending}>
            Apply now
          </Button>
        </div>
      </div>
      {outcome && <Alert tone={outcome.tone}>{outcome.text}</Alert>}
    </form>
  );
}

export function WorkersView() {
  const trpc = useTRPC();
  const canOperate = useCan('operator');
  const workers = useQuery(trpc.workers.find.queryOptions());
  const live = useLiveWorkers();
  const settings = useQuery(trpc.settings.get.queryOptions());
  const [outcome, setOutcome] = useState<Outcome>(null);
  const current = settings.data?.current?.version ?? null;

  const columns: ColumnDef<WorkerView, unknown>[] = [
    {
      header: 'Worker',
      cell: ({ row }) => (
        <div>
          <div className="font-medium">{row.original.hostname}</div>
          <div className="text-xs text-slate-500">
            {row.original.software ?? 'unknown software'}
            {row.original.pid ? ` · pid ${row.original.pid}` : ''}
          </div>
        </div>
      ),
    },
    {
      header: 'Status',
      cell: ({ row }) =>
        row.original.alive ? <Badge tone="green">online</Badge> : <Badge tone="red">offline</Badge>,
    },
    { header: 'Last heartbeat', cell: ({ row }) => formatTime(row.original.lastHeartbeat) },
    {
      header: 'Pool',
      cell: ({ row }) => {
        const p = row.original.pool;
        // The async pool runs in the worker's own process: no executors to count.
        const unit = p.kind?.includes('prefork')
          ? 'processes'
          : p.kind?.includes('thread')
            ? 'threads'
            : null;
        const executors = unit && p.processes !== null ? ` · ${p.processes} ${unit}` : '';
        return `${p.kind ?? '—'} · ${p.maxConcurrency ?? '?'} max${executors}`;
      },
    },
    { header: 'Active', cell: ({ row }) => row.original.active },
    { header: 'Processed', cell: ({ row }) => row.original.processed },
    { header: 'Load', cell: ({ row }) => row.original.loadavg.map((l) => l.toFixed(2)).join(' ') || '—' },
    {
      header: 'Settings version',
      cell: ({ row }) => {
        const v = row.original.settingsVersion;
        if (v === null) return '—';
        return (
          <span className="flex items-center gap-1">
            {v}
            {current !== null && v !== current && <Badge tone="amber">behind (current {current})</Badge>}
          </span>
        );
      },
    },
    ...(canOperate
      ? [
          {
            header: 'Resize pool by',
            cell: ({ row }: { row: { original: WorkerView } }) => (
              <PoolControls worker={row.original} onOutcome={setOutcome} />
            ),
          } as ColumnDef<WorkerView, unknown>,
        ]
      : []),
  ];

  return (
    <div className="space-y-4">
      <PageHeader title="Workers">
        <LiveBadge {...live} />
      </PageHeader>
      {outcome && <Alert tone={outcome.tone}>{outcome.text}</Alert>}
      <DataTable
        label="Workers"
        columns={columns}
        data={workers.data}
        isLoading={workers.isLoading}
        error={workers.error ? errorMessage(workers.error) : null}
        empty="No worker heard from. Start one with `npm start` or `npx lovage worker -A <module>`."
        rowKey={(w) => w.hostname}
      />
      {canOperate && (
        <Card title="Change a task's limits now">
          <LiveLimitForm />
        </Card>
      )}
    </div>
  );
}
