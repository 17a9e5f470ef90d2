'use client';
import { useQuery } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import Link from 'next/link';
import { useMemo, type FormEvent } from 'react';
import { DataTable } from '@/components/data-table';
import { Badge, Button, Input, PageHeader, Select, StateBadge, formatTime } from '@/components/ui';
import { toLocalInput, useUrlState } from '@/components/use-url-state';
import type { TaskRow } from '@/server/presenters/task-presenter';
import { taskSearchFromParams } from '@/server/routers/tasks/find-tasks.schema';
import { TASK_STATES } from '@/server/routers/tasks/task-states';
import { errorMessage, useTRPC } from '@/trpc/react';
import { LiveBadge, useLiveTasks } from './use-live-tasks';

const columns: ColumnDef<TaskRow, unknown>[] = [
  {
    header: 'Task',
    cell: ({ row }) => (
      <div>
        <Link
          href={`/tasks/${encodeURIComponent(row.original.id)}`}
          className="font-medium text-emerald-800 hover:underline"
        >
          {row.original.name ?? '(unknown)'}
        </Link>
        <div className="font-mono text-xs text-slate-500">{row.original.id}</div>
      </div>
    ),
  },
  { header: 'State', cell: ({ row }) => <StateBadge state={row.original.state} /> },
  {
    header: 'Arguments',
    cell: ({ row }) => (
      <code className="line-clamp-2 max-w-xs break-all text-xs text-slate-700">
        {row.original.args ?? ''}{' '}
        {row.original.kwargs && row.original.kwargs !== '{}' ? row.original.kwargs : ''}
      </code>
    ),
  },
  { header: 'Worker', cell: ({ row }) => row.original.worker ?? '—' },
  { header: 'Queue', cell: ({ row }) => row.original.queue ?? '—' },
  {
    header: 'Retries',
    cell: ({ row }) => (row.original.retries > 0 ? <Badge tone="violet">{row.original.retries}</Badge> : '0'),
  },
  {
    header: 'Runtime',
    cell: ({ row }) => (row.original.runtime !== null ? `${row.original.runtime.toFixed(3)} s` : '—'),
  },
  {
    header: 'Updated',
    cell: ({ row }) => <span className="whitespace-nowrap">{formatTime(row.original.updatedAt)}</span>,
  },
];

export function TasksView() {
  const trpc = useTRPC();
  const { params, update } = useUrlState();
  const search = useMemo(() => taskSearchFromParams(params), [params]);
  const tasks = useQuery({ ...trpc.tasks.find.queryOptions(search), placeholderData: (prev) => prev });
  const facets = useQuery(trpc.tasks.facets.queryOptions());
  const live = useLiveTasks();

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const get = (k: string) => String(f.get(k) ?? '').trim();
    update({
      state: get('state'),
      name: get('name'),
      worker: get('worker'),
      queue: get('queue'),
      id: get('id'),
      from: get('from'),
      to: get('to'),
    });
  }

  const counts = facets.data?.counts ?? {};
  return (
    <div>
      <PageHeader title="Tasks">
        <LiveBadge {...live} />
      </PageHeader>
      <div className="mb-3 flex flex-wrap gap-2" aria-label="Tasks per state">
        {Object.entries(counts).map(([state, n]) => (
          <button
            key={state}
            type="button"
            onClick={() => update({ state: search.state === state ? null : state })}
            className="rounded border border-slate-200 bg-white px-2 py-1 text-xs hover:bg-slate-50"
            aria-pressed={search.state === state}
          >
            <StateBadge state={state} /> <span className="ml-1 tabular-nums">{n}</span>
          </button>
        ))}
      </div>
      <form
        key={params.toString()}
        onSubmit={onSubmit}
        aria-label="Task filters"
        className="mb-4 grid grid-cols-2 gap-2 rounded-lg border border-slate-200 bg-white p-3 md:grid-cols-4 xl:grid-cols-8"
      >
        <label className="text-xs text-slate-600">
          State
          <Select name="state" defaultValue={search.state ?? ''} aria-label="State">
            <option value="">Any state</option>
            {TASK_STATES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </Select>
        </label>
        <label className="text-xs text-slate-600">
          Task name
          <Input name="name" list="task-names" defaultValue={search.name ?? ''} aria-label="Task name" />
        </label>
        <label className="text-xs text-slate-600">
          Worker
          <Input name="worker" list="task-workers" defaultValue={search.worker ?? ''} aria-label="Worker" />
        </label>
        <label className="text-xs text-slate-600">
          Queue
          <Input name="queue" list="task-queues" defaultValue={search.queue ?? ''} aria-label="Queue" />
        </label>
        <label className="text-xs text-slate-600">
          From
          <Input
            type="datetime-local"
            name="from"
            defaultValue={toLocalInput(search.from)}
            aria-label="From"
          />
        </label>
        <label className="text-xs text-slate-600">
          To
          <Input type="datetime-local" name="to" defaultValue={toLocalInput(search.to)} aria-label="To" />
        </label>
        <label className="text-xs text-slate-600">
          Task id
          <Input name="id" defaultValue={search.id ?? ''} aria-label="Task id" />
        </label>
        <div className="flex items-end gap-2">
          <Button type="submit">Apply filters</Button>
          <Button
            variant="ghost"
            onClick={() =>
              update({ state: null, name: null, worker: null, queue: null, id: null, from: null, to: null })
            }
          >
            Clear
          </Button>
        </div>
        <datalist id="task-names">
          {facets.data?.names.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
        <datalist id="task-workers">
          {facets.data?.workers.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
        <datalist id="task-queues">
          {facets.data?.queues.map((n) => (
            <option key={n} value={n} />
          ))}
        </datalist>
      </form>
      <DataTable
        label="Tasks"
        columns={columns}
        data={tasks.data?.items}
        isLoading={tasks.isLoading}
        error={tasks.error ? errorMessage(tasks.error) : null}
        empty="No task matches. The list fills as the monitor (`lovage monitor`) records events."
        rowKey={(t) => t.id}
        paging={
          tasks.data
            ? {
                page: tasks.data.page,
                perPage: tasks.data.perPage,
                total: tasks.data.total,
                onPage: (page) => update({ page }),
              }
            : undefined
        }
      />
    </div>
  );
}
