'use client';
import { useQuery } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import Link from 'next/link';
import { useMemo } from 'react';
import { DataTable, urlPaging } from '@/components/data-table';
import { FilterBar } from '@/components/filter-bar';
import { Time } from '@/components/time';
import { ExportLinks } from '@/components/export-links';
import { Badge, PageHeader, StateBadge } from '@/components/ui';
import { useUrlState, type UrlUpdate } from '@/components/use-url-state';
import type { TaskRow } from '@/server/presenters/task-presenter';
import { taskSearchFromParams } from '@/server/routers/tasks/find-tasks.schema';
import { TASK_STATES } from '@/server/routers/tasks/task-states';
import { errorMessage, useTRPC } from '@/trpc/react';
import { ActivityChart } from './activity-chart';
import { LiveBadge, useLiveTasks } from './use-live-tasks';

/** A state chip that filters the list by its state (again: shows every state). */
function StateFilterChip({
  state,
  active,
  update,
  count,
}: {
  state: string;
  active: boolean;
  update: UrlUpdate;
  count?: number;
}) {
  return (
    <button
      type="button"
      onClick={() => update({ state: active ? null : state })}
      aria-pressed={active}
      title={active ? 'Show every state' : `Show only ${state} tasks`}
      className={`whitespace-nowrap rounded focus:outline-none focus-visible:ring-2 focus-visible:ring-emerald-600 ${count === undefined ? '' : 'border border-slate-200 bg-white px-2 py-1 text-xs hover:bg-slate-50 aria-pressed:border-emerald-600'}`}
    >
      <StateBadge state={state} />
      {count !== undefined && <span className="ml-1 tabular-nums">{count}</span>}
    </button>
  );
}

const taskColumns = (activeState: string | undefined, update: UrlUpdate): ColumnDef<TaskRow, unknown>[] => [
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
  {
    header: 'State',
    cell: ({ row }) => (
      <StateFilterChip
        state={row.original.state}
        active={activeState === row.original.state}
        update={update}
      />
    ),
  },
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
    cell: ({ row }) => <Time value={row.original.updatedAt} />,
  },
];

export function TasksView() {
  const trpc = useTRPC();
  const { params, update } = useUrlState();
  const search = useMemo(() => taskSearchFromParams(params), [params]);
  const tasks = useQuery({ ...trpc.tasks.find.queryOptions(search), placeholderData: (prev) => prev });
  const facets = useQuery(trpc.tasks.facets.queryOptions());
  const live = useLiveTasks();
  const columns = useMemo(() => taskColumns(search.state, update), [search.state, update]);

  const counts = facets.data?.counts ?? {};
  return (
    <div>
      <PageHeader title="Tasks">
        <span className="flex items-center gap-3">
          <ExportLinks
            what="tasks"
            path="/api/export/tasks"
            filters={{
              state: search.state,
              name: search.name,
              worker: search.worker,
              queue: search.queue,
              from: search.from,
              to: search.to,
              id: search.id,
            }}
          />
          <LiveBadge {...live} />
        </span>
      </PageHeader>
      <div className="mb-3">
        <ActivityChart filter={{ name: search.name, worker: search.worker, queue: search.queue }} />
      </div>
      <div className="mb-3 flex flex-wrap gap-2" aria-label="Tasks per state">
        {Object.entries(counts).map(([state, n]) => (
          <StateFilterChip
            key={state}
            state={state}
            count={n}
            active={search.state === state}
            update={update}
          />
        ))}
      </div>
      <FilterBar
        label="Task filters"
        update={update}
        filters={[
          {
            kind: 'select',
            name: 'state',
            label: 'State',
            value: search.state,
            any: 'Any state',
            options: TASK_STATES.map((s) => ({ value: s, label: s })),
          },
          {
            kind: 'text',
            name: 'name',
            label: 'Task name',
            value: search.name,
            suggestions: facets.data?.names,
          },
          {
            kind: 'text',
            name: 'worker',
            label: 'Worker',
            value: search.worker,
            suggestions: facets.data?.workers,
          },
          {
            kind: 'text',
            name: 'queue',
            label: 'Queue',
            value: search.queue,
            suggestions: facets.data?.queues,
          },
          { kind: 'time', name: 'from', label: 'From', value: search.from },
          { kind: 'time', name: 'to', label: 'To', value: search.to },
          { kind: 'text', name: 'id', label: 'Task id', value: search.id },
        ]}
      />
      <DataTable
        label="Tasks"
        columns={columns}
        data={tasks.data?.items}
        isLoading={tasks.isLoading}
        error={tasks.error ? errorMessage(tasks.error) : null}
        empty="No task matches. The list fills as the monitor (`lovage monitor`) records events."
        rowKey={(t) => t.id}
        paging={urlPaging(tasks.data, update)}
      />
    </div>
  );
}
