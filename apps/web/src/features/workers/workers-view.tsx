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
      <div className="w-14 shrink-0">
        <Input
          type="number"
          min={1}
          max={100}
          value={n}
          onChange={(e) => setN(Math.max(1, Number(e.target.value) || 1))}
          aria-label={`Processes to add or remove on ${worker.hostname}`}
        />
      </div>
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

/** The queues a worker consumes; operators add one or stop one (live, until the worker restarts). */
function WorkerQueues({
  worker,
  canOperate,
  onOutcome,
}: {
  worker: WorkerView;
  canOperate: boolean;
  onOutcome: (o: Outcome) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [queue, setQueue] = useState('');
  const change = useMutation(
    trpc.workers.setConsumer.mutationOptions({
      onSuccess: (r) => {
        onOutcome({ tone: 'success', text: r.message });
        setQueue('');
      },
      onError: (e) => onOutcome({ tone: 'error', text: errorMessage(e) }),
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.workers.find.queryKey() }),
    }),
  );
  if (worker.queues === null) return <span className="text-slate-400">—</span>;
  return (
    <div className="space-y-1">
      <ul aria-label={`Queues of ${worker.hostname}`} className="flex flex-wrap gap-1">
        {worker.queues.map((q) => (
          <li
            key={q}
            className="flex items-center gap-1 rounded bg-slate-100 px-1.5 py-0.5 font-mono text-xs"
          >
            {q}
            {canOperate && worker.queues!.length > 1 && (
              <button
                type="button"
                className="text-slate-500 hover:text-red-700"
                aria-label={`Stop consuming ${q} on ${worker.hostname}`}
                disabled={change.isPending}
                onClick={() => change.mutate({ hostname: worker.hostname, queue: q, action: 'cancel' })}
              >
                ×
              </button>
            )}
          </li>
        ))}
      </ul>
      {canOperate && (
        <form
          className="flex gap-1"
          aria-label={`Add a queue to ${worker.hostname}`}
          onSubmit={(e) => {
            e.preventDefault();
            change.mutate({ hostname: worker.hostname, queue: queue.trim(), action: 'add' });
          }}
        >
          <div className="w-28 shrink-0">
            <Input
              value={queue}
              onChange={(e) => setQueue(e.target.value)}
              placeholder="queue"
              aria-label={`Queue to consume on ${worker.hostname}`}
            />
          </div>
          <Button type="submit" variant="secondary" disabled={change.isPending || !queue.trim()}>
            Add
          </Button>
        </form>
      )}
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
        return (
          <div className="space-y-1">
            <div>{`${p.kind ?? '—'} · ${p.maxConcurrency ?? '?'} max${executors}`}</div>
            {canOperate && <PoolControls worker={row.original} onOutcome={setOutcome} />}
          </div>
        );
      },
    },
    {
      header: 'Queues',
      cell: ({ row }) => (
        <WorkerQueues worker={row.original} canOperate={canOperate} onOutcome={setOutcome} />
      ),
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
