'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import Link from 'next/link';
import { useMemo, useState } from 'react';
import { DataTable, urlPaging } from '@/components/data-table';
import { Alert, Button, PageHeader, formatTime } from '@/components/ui';
import { useUrlState } from '@/components/use-url-state';
import type { DeadLetterView } from '@/server/presenters/dead-letter-presenter';
import { deadLetterSearchFromParams } from '@/server/routers/dead-letters/find-dead-letters.schema';
import { errorMessage, useTRPC } from '@/trpc/react';
import { useCan } from '../auth/session-context';

type Outcome = { tone: 'success' | 'error'; text: string } | null;

/** Requeue and Delete for one dead letter (operators); the outcome shows above the table. */
function DeadLetterActions({
  letter,
  onOutcome,
}: {
  letter: DeadLetterView;
  onOutcome: (o: Outcome) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const settle = {
    onSuccess: (r: { message: string }) => onOutcome({ tone: 'success', text: r.message }),
    onError: (e: Parameters<typeof errorMessage>[0]) => onOutcome({ tone: 'error', text: errorMessage(e) }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.deadLetters.pathKey() }),
  };
  const requeue = useMutation(trpc.deadLetters.requeue.mutationOptions(settle));
  const remove = useMutation(trpc.deadLetters.delete.mutationOptions(settle));
  const ref = { queue: letter.queue, id: letter.id };
  const busy = requeue.isPending || remove.isPending;
  return (
    <div className="flex flex-wrap gap-1">
      <Button
        variant="secondary"
        disabled={busy}
        aria-label={`Requeue dead letter ${letter.id}`}
        title="Put the message back on its queue, as it was"
        onClick={() => requeue.mutate(ref)}
      >
        Requeue
      </Button>
      <Button
        variant="danger"
        disabled={busy}
        aria-label={`Delete dead letter ${letter.id}`}
        onClick={() => {
          if (window.confirm('Delete this message for good?')) remove.mutate(ref);
        }}
      >
        Delete
      </Button>
    </div>
  );
}

export function DeadLettersView() {
  const trpc = useTRPC();
  const canOperate = useCan('operator');
  const { params, update } = useUrlState();
  const search = useMemo(() => deadLetterSearchFromParams(params), [params]);
  const queues = useQuery(trpc.deadLetters.queues.queryOptions());
  const queue = search.queue ?? queues.data?.[0]?.queue;
  const letters = useQuery({
    ...trpc.deadLetters.find.queryOptions({ queue: queue ?? '', page: search.page }),
    enabled: !!queue,
    placeholderData: (prev) => prev,
  });
  const [outcome, setOutcome] = useState<Outcome>(null);

  // Three narrow columns that wrap, the actions under the task: nothing, Delete least of all, is pushed
  // out of sight by a long id, reason or message, down to a phone's 390 px.
  const columns: ColumnDef<DeadLetterView, unknown>[] = [
    {
      header: 'Task',
      cell: ({ row }) => {
        const { taskName, taskId, at, consumer } = row.original;
        return (
          <div
            className="w-40 space-y-1 aria-[current=true]:rounded aria-[current=true]:bg-amber-50 aria-[current=true]:outline aria-[current=true]:outline-2 aria-[current=true]:outline-amber-400 sm:w-56"
            aria-current={row.original.id === search.letter || undefined}
          >
            <div className="break-all font-medium">
              {taskName ?? (taskId ? '(no name)' : <span className="text-slate-500">unreadable</span>)}
            </div>
            {taskId && (
              <Link
                href={`/tasks/${encodeURIComponent(taskId)}`}
                className="block break-all font-mono text-xs text-emerald-800 hover:underline"
              >
                {taskId}
              </Link>
            )}
            <div className="text-xs text-slate-500">
              {formatTime(at)}
              {consumer && <span className="block break-all">taken by {consumer}</span>}
            </div>
            {canOperate && <DeadLetterActions letter={row.original} onOutcome={setOutcome} />}
          </div>
        );
      },
    },
    {
      header: 'Why',
      cell: ({ row }) => <p className="min-w-32 break-words text-red-800">{row.original.reason}</p>,
    },
    {
      header: 'Message',
      cell: ({ row }) => (
        <details className="w-48 sm:w-72 lg:w-96">
          <summary className="cursor-pointer text-xs text-slate-600">raw, as the broker held it</summary>
          {row.original.body !== null && (
            <>
              <p className="mt-1 text-xs font-semibold text-slate-600">Body, decoded</p>
              <pre className="max-h-32 overflow-auto whitespace-pre-wrap break-all rounded bg-slate-900 p-2 text-xs text-slate-100">
                {row.original.body}
                {row.original.bodyTruncated ? '…' : ''}
              </pre>
              <p className="mt-1 text-xs font-semibold text-slate-600">Envelope</p>
            </>
          )}
          <pre className="mt-1 max-h-64 overflow-auto whitespace-pre-wrap break-all rounded bg-slate-900 p-2 text-xs text-slate-100">
            {row.original.raw}
            {row.original.rawTruncated ? '…' : ''}
          </pre>
          {(row.original.rawTruncated || row.original.bodyTruncated) && (
            <p className="mt-1 text-xs text-slate-500">Shown up to its first 4,000 characters.</p>
          )}
        </details>
      ),
    },
  ];

  return (
    <div>
      <PageHeader title="Dead letters" />
      <p className="mb-3 text-sm text-slate-600">
        Messages no worker could run (malformed, or for a task no worker knows), kept as they arrived with the
        reason. Requeue one once the cause is fixed, or delete it.
      </p>
      <div role="group" className="mb-3 flex flex-wrap gap-2" aria-label="Queues with dead letters">
        {queues.data?.map((q) => (
          <button
            key={q.queue}
            type="button"
            onClick={() => update({ queue: q.queue })}
            aria-pressed={q.queue === queue}
            className="rounded border border-slate-200 bg-white px-2 py-1 text-xs hover:bg-slate-50 aria-pressed:border-emerald-600 aria-pressed:bg-emerald-50"
          >
            {q.queue} <span className="ml-1 tabular-nums text-slate-500">{q.count}</span>
          </button>
        ))}
      </div>
      {queues.error && <Alert tone="error">{errorMessage(queues.error)}</Alert>}
      {outcome && (
        <div className="mb-3">
          <Alert tone={outcome.tone}>{outcome.text}</Alert>
        </div>
      )}
      {search.letter && letters.data && !letters.data.items.some((d) => d.id === search.letter) && (
        <div className="mb-3">
          <Alert tone="info">
            Dead letter {search.letter} is not on this page: it was requeued or deleted, or newer letters
            pushed it to a later page.
          </Alert>
        </div>
      )}
      {queue ? (
        <DataTable
          label={`Dead letters of ${queue}`}
          columns={columns}
          data={letters.data?.items}
          isLoading={letters.isLoading}
          error={letters.error ? errorMessage(letters.error) : null}
          empty={`No dead letter in ${queue}.`}
          rowKey={(d) => d.id}
          paging={urlPaging(letters.data, update)}
        />
      ) : (
        queues.data && <Alert tone="info">No dead letters: every message so far could be run.</Alert>
      )}
    </div>
  );
}
