'use client';
import { useQuery } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import Link from 'next/link';
import { DataTable } from '@/components/data-table';
import { Time } from '@/components/time';
import { Button, Card, StateBadge } from '@/components/ui';
import type { ScheduleRunView } from '@/server/presenters/schedule-presenter';
import { errorMessage, useTRPC } from '@/trpc/react';

const columns: ColumnDef<ScheduleRunView, unknown>[] = [
  {
    header: 'Task',
    cell: ({ row }) => (
      <Link
        href={`/tasks/${encodeURIComponent(row.original.taskId)}`}
        className="break-all font-mono text-xs text-emerald-800 hover:underline"
      >
        {row.original.taskId}
      </Link>
    ),
  },
  { header: 'State', cell: ({ row }) => <StateBadge state={row.original.state} /> },
  { header: 'Due', cell: ({ row }) => <Time value={row.original.due} relative={false} /> },
  { header: 'Sent', cell: ({ row }) => <Time value={row.original.sent} /> },
  {
    header: 'By',
    cell: ({ row }) => (
      <span className="break-all">
        {row.original.by === 'beat' ? 'beat' : `${row.original.by} (run now)`}
        {row.original.missed > 0 && (
          <span className="block text-xs text-amber-800">stood for {row.original.missed} missed</span>
        )}
      </span>
    ),
  },
];

/** An entry's run history (the last 50), refreshed while it is open. */
export function ScheduleHistory({ name, onClose }: { name: string; onClose: () => void }) {
  const trpc = useTRPC();
  const history = useQuery({ ...trpc.schedules.get.queryOptions({ name }), refetchInterval: 2000 });
  return (
    <Card
      title={`Run history of ${name}`}
      actions={
        <Button variant="ghost" onClick={onClose} aria-label="Close the run history">
          Close
        </Button>
      }
    >
      <DataTable
        label={`Runs of ${name}`}
        columns={columns}
        data={history.data?.runs}
        isLoading={history.isLoading}
        error={history.error ? errorMessage(history.error) : null}
        empty="No run yet."
        rowKey={(r) => `${r.taskId}`}
      />
    </Card>
  );
}
