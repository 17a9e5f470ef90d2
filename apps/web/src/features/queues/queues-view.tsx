'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { DataTable } from '@/components/data-table';
import { plural } from '@/components/plural';
import { Time } from '@/components/time';
import { Alert, Badge, Button, Input, PageHeader, errorAria } from '@/components/ui';
import type { QueueView } from '@/server/routers/queues/find-queues';
import { errorMessage, fieldIssues, useTRPC } from '@/trpc/react';
import { useCan } from '../auth/session-context';

type Outcome = { tone: 'success' | 'error'; text: string } | null;

/** Purge behind a confirmation: the queue's name typed again, checked by the server's schema too. */
function PurgeControl({ queue, onOutcome }: { queue: QueueView; onOutcome: (o: Outcome) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const purge = useMutation(
    trpc.queues.purge.mutationOptions({
      onSuccess: (r) => {
        onOutcome({ tone: 'success', text: r.message });
        setOpen(false);
      },
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.queues.find.queryKey() }),
    }),
  );
  const confirmError = fieldIssues(purge.error).find((i) => i.path[0] === 'confirm')?.message;
  if (!open) {
    return (
      <Button
        variant="secondary"
        disabled={queue.waiting === 0}
        aria-label={`Purge ${queue.name}`}
        onClick={() => {
          purge.reset();
          setOpen(true);
        }}
      >
        Purge…
      </Button>
    );
  }
  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const confirm = String(new FormData(e.currentTarget).get('confirm') ?? '');
    purge.mutate({ queue: queue.name, confirm });
  }
  return (
    <form onSubmit={onSubmit} aria-label={`Purge ${queue.name}`} className="space-y-1">
      <p className="text-xs text-slate-600">
        Deletes {queue.waiting === 1 ? 'the' : 'all'} {plural(queue.waiting, 'waiting message')} for good.
        Type <code>{queue.name}</code> to confirm.
      </p>
      <div className="flex gap-1">
        <div className="w-40 shrink-0">
          <Input
            name="confirm"
            autoComplete="off"
            aria-label={`Type ${queue.name} to confirm`}
            {...errorAria(`purge-${queue.name}`, confirmError)}
          />
        </div>
        <Button type="submit" variant="danger" disabled={purge.isPending}>
          Purge
        </Button>
        <Button variant="ghost" onClick={() => setOpen(false)}>
          Cancel
        </Button>
      </div>
      {purge.error && (
        <p id={`purge-${queue.name}-error`} role="alert" className="text-xs font-medium text-red-700">
          {confirmError ?? errorMessage(purge.error)}
        </p>
      )}
    </form>
  );
}

/**
 * Pause for every worker (a reason required, shown beside the queue), or resume a paused queue. Celery
 * workers are paused through remote control too; Lovage workers started later leave the queue out.
 */
function PauseControl({ queue, onOutcome }: { queue: QueueView; onOutcome: (o: Outcome) => void }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const settle = {
    onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.queues.find.queryKey() }),
  };
  const pause = useMutation(
    trpc.queues.pause.mutationOptions({
      onSuccess: (r) => {
        onOutcome({ tone: 'success', text: r.message });
        setOpen(false);
      },
      ...settle,
    }),
  );
  const resume = useMutation(
    trpc.queues.resume.mutationOptions({
      onSuccess: (r) => onOutcome({ tone: 'success', text: r.message }),
      onError: (e) => onOutcome({ tone: 'error', text: errorMessage(e) }),
      ...settle,
    }),
  );
  if (queue.paused) {
    return (
      <Button
        variant="secondary"
        aria-label={`Resume ${queue.name}`}
        disabled={resume.isPending}
        onClick={() => resume.mutate({ queue: queue.name })}
      >
        Resume
      </Button>
    );
  }
  if (!open) {
    return (
      <Button
        variant="secondary"
        aria-label={`Pause ${queue.name}`}
        onClick={() => {
          pause.reset();
          setOpen(true);
        }}
      >
        Pause…
      </Button>
    );
  }
  const reasonError = fieldIssues(pause.error).find((i) => i.path[0] === 'reason')?.message;
  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    pause.mutate({ queue: queue.name, reason: String(new FormData(e.currentTarget).get('reason') ?? '') });
  }
  return (
    <form onSubmit={onSubmit} aria-label={`Pause ${queue.name}`} className="space-y-1">
      <p className="text-xs text-slate-600">
        Every worker stops taking tasks from <code>{queue.name}</code> until it is resumed; tasks keep
        arriving and wait.
      </p>
      <div className="flex gap-1">
        <div className="w-48 shrink-0">
          <Input
            name="reason"
            autoComplete="off"
            placeholder="Why?"
            aria-label={`Why pause ${queue.name}`}
            {...errorAria(`pause-${queue.name}`, reasonError)}
          />
        </div>
        <Button type="submit" disabled={pause.isPending}>
          Pause
        </Button>
        <Button variant="ghost" onClick={() => setOpen(false)}>
          Cancel
        </Button>
      </div>
      {pause.error && (
        <p id={`pause-${queue.name}-error`} role="alert" className="text-xs font-medium text-red-700">
          {reasonError ?? errorMessage(pause.error)}
        </p>
      )}
    </form>
  );
}

export function QueuesView() {
  const trpc = useTRPC();
  const canOperate = useCan('operator');
  const queues = useQuery({ ...trpc.queues.find.queryOptions(), refetchInterval: 5000 });
  const [outcome, setOutcome] = useState<Outcome>(null);

  const columns: ColumnDef<QueueView, unknown>[] = [
    {
      header: 'Queue',
      cell: ({ row }) => {
        const { name, paused } = row.original;
        return (
          <>
            <span className="font-mono">{name}</span>
            {paused && (
              <div className="mt-1 text-xs text-slate-600">
                <Badge tone="amber">Paused</Badge> by {paused.by} <Time value={paused.at} />: {paused.reason}
              </div>
            )}
          </>
        );
      },
    },
    {
      header: 'Ready',
      cell: ({ row }) => <span className="tabular-nums">{row.original.waiting}</span>,
    },
    {
      header: 'Unacknowledged',
      cell: ({ row }) => {
        const { count, from } = row.original.unacked;
        if (from === 'broker') return <span className="tabular-nums">{count}</span>;
        return (
          <span
            className="tabular-nums"
            title="The broker does not tell this over AMQP: the tasks the answering workers report holding unacknowledged (reserved, scheduled, or running with late acks); at least this many"
          >
            {count} <span className="text-xs text-slate-500">(as workers report)</span>
          </span>
        );
      },
    },
    {
      header: 'Consumed by',
      cell: ({ row }) => {
        const { consumers, brokerConsumers } = row.original;
        const onBroker =
          brokerConsumers === null ? null : (
            <span className="text-xs text-slate-500">
              {' '}
              ({plural(brokerConsumers, 'consumer')} on the broker)
            </span>
          );
        return consumers.length ? (
          <>
            {consumers.join(', ')}
            {onBroker}
          </>
        ) : (
          <>
            <span className="text-amber-800">no worker answered for it</span>
            {onBroker}
          </>
        );
      },
    },
    {
      header: 'Dead letters',
      cell: ({ row }) =>
        row.original.deadLetters ? (
          <Link
            className="text-emerald-800 hover:underline"
            href={`/dead-letters?queue=${encodeURIComponent(row.original.name)}`}
          >
            {row.original.deadLetters}
          </Link>
        ) : (
          '0'
        ),
    },
    ...(canOperate
      ? [
          {
            header: 'Actions',
            cell: ({ row }: { row: { original: QueueView } }) => (
              <div className="flex flex-wrap items-start gap-1">
                <PauseControl queue={row.original} onOutcome={setOutcome} />
                <PurgeControl queue={row.original} onOutcome={setOutcome} />
              </div>
            ),
          } as ColumnDef<QueueView, unknown>,
        ]
      : []),
  ];

  return (
    <div>
      <PageHeader title="Queues" />
      <p className="mb-3 text-sm text-slate-600">
        The backlog of every queue Lovage knows of (ready to deliver, and delivered but not yet acknowledged),
        which workers consume it, and its dead letters. Refreshed every 5 seconds.
      </p>
      {outcome && (
        <div className="mb-3">
          <Alert tone={outcome.tone}>{outcome.text}</Alert>
        </div>
      )}
      <DataTable
        label="Queues"
        columns={columns}
        data={queues.data}
        isLoading={queues.isLoading}
        error={queues.error ? errorMessage(queues.error) : null}
        empty="No queue yet: the list fills as tasks are sent."
        rowKey={(q) => q.name}
      />
    </div>
  );
}
