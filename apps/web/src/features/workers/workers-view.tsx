'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import { useId, useMemo, useState, type FormEvent, type InputHTMLAttributes } from 'react';
import { DataTable } from '@/components/data-table';
import {
  Alert,
  Badge,
  Button,
  Card,
  errorAria,
  Input,
  PageHeader,
  Select,
  formatTime,
} from '@/components/ui';
import type { WorkerView } from '@/server/presenters/worker-presenter';
import { resizePoolInput } from '@/server/routers/workers/resize-pool.schema';
import { setTaskLimitInput } from '@/server/routers/workers/set-task-limit.schema';
import { errorMessage, fieldIssues, useTRPC } from '@/trpc/react';
import { useCan } from '../auth/session-context';
import { LiveBadge, useLiveWorkers } from '../tasks/use-live-tasks';
import { capacityWarnings, describeHost, isLargeChange } from './capacity';
import { ConfirmChange } from './confirm-change';

type Outcome = { tone: 'success' | 'error'; text: string } | null;
const verb = { grow: 'Grow', shrink: 'Shrink' } as const;

/**
 * Grow or shrink one worker's pool. The box is checked with the server's own schema (a field error for
 * 0, -1, blank or 1.5; nothing sent), and a large change or one beyond what the host holds waits for a
 * second click that names the new size.
 */
function PoolControls({ worker, onOutcome }: { worker: WorkerView; onOutcome: (o: Outcome) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [text, setText] = useState('1');
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<{
    direction: 'grow' | 'shrink';
    n: number;
    target: number;
    warnings: string[];
  } | null>(null);
  const resize = useMutation(
    trpc.workers.resizePool.mutationOptions({
      onSuccess: (r) => onOutcome({ tone: 'success', text: r.message }),
      onError: (e) => onOutcome({ tone: 'error', text: errorMessage(e) }),
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.workers.find.queryKey() }),
    }),
  );
  const send = (direction: 'grow' | 'shrink', n: number) => {
    setConfirming(null);
    resize.mutate({ hostname: worker.hostname, direction, n });
  };
  const ask = (direction: 'grow' | 'shrink') => {
    const parsed = resizePoolInput.shape.n.safeParse(text.trim() === '' ? undefined : Number(text));
    if (!parsed.success) {
      setError(parsed.error.issues[0]?.message ?? 'enter a whole number of processes');
      return;
    }
    setError(null);
    const n = parsed.data;
    const current = worker.pool.maxConcurrency;
    if (current === null) return send(direction, n);
    const target = direction === 'grow' ? current + n : current - n;
    if (target < 1) {
      setError(`the pool has ${current}; it cannot shrink below 1`);
      return;
    }
    const warnings = direction === 'grow' ? capacityWarnings(worker, target) : [];
    if (warnings.length > 0 || isLargeChange(current, target)) {
      setConfirming({ direction, n, target, warnings });
    } else send(direction, n);
  };
  return (
    <div className="space-y-1">
      <div className="flex items-center gap-1">
        <div className="w-14 shrink-0">
          <Input
            id={id}
            inputMode="numeric"
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              setError(null);
              setConfirming(null);
            }}
            aria-label={`Processes to add or remove on ${worker.hostname}`}
            {...errorAria(id, error)}
          />
        </div>
        {(['grow', 'shrink'] as const).map((direction) => (
          <Button
            key={direction}
            variant="secondary"
            disabled={resize.isPending}
            aria-label={`${verb[direction]} pool of ${worker.hostname}`}
            onClick={() => ask(direction)}
          >
            {verb[direction]}
          </Button>
        ))}
      </div>
      {error && (
        <p id={`${id}-error`} role="alert" className="text-xs font-medium text-red-700">
          {error}
        </p>
      )}
      {confirming && (
        <ConfirmChange
          label={`Confirm the new pool size of ${worker.hostname}`}
          question={`${verb[confirming.direction]} the pool from ${worker.pool.maxConcurrency} to ${confirming.target}?`}
          warnings={confirming.warnings}
          confirmLabel={`${verb[confirming.direction]} to ${confirming.target}`}
          onConfirm={() => send(confirming.direction, confirming.n)}
          onCancel={() => setConfirming(null)}
        />
      )}
    </div>
  );
}

/** The limits a worker applies per task now (live changes included), as it reports them. */
function LiveLimits({ worker }: { worker: WorkerView }) {
  const entries = Object.entries(worker.taskLimits).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <span className="text-slate-400">—</span>;
  const describe = (l: WorkerView['taskLimits'][string]) =>
    [
      l.rateLimit ? `rate ${l.rateLimit}` : null,
      l.timeLimit ? `hard ${l.timeLimit} s` : null,
      l.softTimeLimit ? `soft ${l.softTimeLimit} s` : null,
    ]
      .filter(Boolean)
      .join(', ') || 'none';
  return (
    <ul aria-label={`Task limits of ${worker.hostname}`} className="space-y-0.5 text-xs">
      {entries.map(([task, l]) => (
        <li key={task}>
          <span className="font-mono">{task}</span>: {describe(l)}
        </li>
      ))}
    </ul>
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

type LimitField = 'taskName' | 'rateLimit' | 'hard' | 'soft';
const LIMIT_FIELDS: readonly string[] = ['taskName', 'rateLimit', 'hard', 'soft'];

/**
 * A task's rate or time limits on every running worker, now. Checked with the server's schema first; the
 * outcome is green only when every worker applied it (a refusal anywhere reads as the failure it is).
 */
function LiveLimitForm({ knownTasks }: { knownTasks: string[] }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const listId = useId();
  const [kind, setKind] = useState<'rate' | 'time'>('rate');
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [errors, setErrors] = useState<Partial<Record<LimitField, string>>>({});
  const showIssues = (issues: { path: PropertyKey[]; message: string }[]) => {
    const next: Partial<Record<LimitField, string>> = {};
    for (const i of issues) {
      const field = String(i.path[0]);
      if (LIMIT_FIELDS.includes(field)) next[field as LimitField] ??= i.message;
    }
    setErrors(next);
    return Object.keys(next).length > 0;
  };
  const mutation = useMutation(
    trpc.workers.setTaskLimit.mutationOptions({
      onSuccess: (r) => setOutcome({ tone: r.outcome === 'ok' ? 'success' : 'error', text: r.message }),
      onError: (e) => {
        const issues = fieldIssues(e);
        setOutcome({
          tone: 'error',
          text: showIssues(issues)
            ? 'Not applied: correct the fields marked.'
            : `Not applied: ${errorMessage(e)}`,
        });
      },
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.workers.find.queryKey() }),
    }),
  );
  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setOutcome(null);
    const f = new FormData(e.currentTarget);
    const text = (k: string) => String(f.get(k) ?? '').trim();
    const seconds = (k: string) => (text(k) === '' ? null : Number(text(k)));
    const input =
      kind === 'rate'
        ? { kind, taskName: text('taskName'), rateLimit: text('rateLimit') || null }
        : { kind, taskName: text('taskName'), hard: seconds('hard'), soft: seconds('soft') };
    const checked = setTaskLimitInput.safeParse(input);
    if (!checked.success) {
      showIssues(checked.error.issues);
      return;
    }
    setErrors({});
    mutation.mutate(checked.data);
  }
  const field = (name: LimitField, label: string, props: InputHTMLAttributes<HTMLInputElement> = {}) => {
    const id = `${listId}-${name}`;
    return (
      <div className="text-xs text-slate-600">
        <label htmlFor={id}>{label}</label>
        <Input id={id} name={name} {...props} {...errorAria(id, errors[name])} />
        {errors[name] && (
          <p id={`${id}-error`} role="alert" className="font-medium text-red-700">
            {errors[name]}
          </p>
        )}
      </div>
    );
  };
  return (
    <form onSubmit={onSubmit} noValidate aria-label="Change a task's limits now" className="space-y-3">
      <p className="text-xs text-slate-500">
        Sent to every running worker by remote control; a worker that restarts goes back to the stored
        settings (change those on the Settings page).
      </p>
      <div className="grid gap-2 md:grid-cols-5">
        {field('taskName', 'Task name', { list: `${listId}-tasks`, autoComplete: 'off' })}
        <datalist id={`${listId}-tasks`}>
          {knownTasks.map((t) => (
            <option key={t} value={t} />
          ))}
        </datalist>
        <label className="text-xs text-slate-600">
          Limit
          <Select
            value={kind}
            onChange={(e) => {
              setKind(e.target.value as 'rate' | 'time');
              setErrors({});
            }}
            aria-label="Limit kind"
          >
            <option value="rate">Rate limit</option>
            <option value="time">Time limits</option>
          </Select>
        </label>
        {kind === 'rate' ? (
          field('rateLimit', 'Rate (10/s, 100/m; empty: none)')
        ) : (
          <>
            {field('hard', 'Hard limit (s)', { inputMode: 'decimal' })}
            {field('soft', 'Soft limit (s)', { inputMode: 'decimal' })}
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

  // Stable between refreshes: the table renders each cell function as a component, so a new function
  // would remount the pool box and the queue box (losing what is typed, or a pending confirmation).
  const columns = useMemo<ColumnDef<WorkerView, unknown>[]>(
    () => [
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
              {row.original.host && (
                <div className="text-xs text-slate-500">{describeHost(row.original.host)}</div>
              )}
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
      { header: 'Task limits now', cell: ({ row }) => <LiveLimits worker={row.original} /> },
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
    ],
    [canOperate, current],
  );

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
          <LiveLimitForm
            knownTasks={[...new Set((workers.data ?? []).flatMap((w) => w.tasks ?? []))].sort()}
          />
        </Card>
      )}
    </div>
  );
}
