'use client';
import { useQuery } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import { useState } from 'react';
import { DataTable } from '@/components/data-table';
import { Alert, Badge, Card, PageHeader, formatTime } from '@/components/ui';
import type { WorkerView } from '@/server/presenters/worker-presenter';
import { errorMessage, useTRPC } from '@/trpc/react';
import { useCan } from '../auth/session-context';
import { SettingsForm, type SaveOutcome } from './settings-form';

interface VersionRow {
  version: number;
  settings: Record<string, unknown>;
  createdAt: string;
  createdBy: string | null;
  reason: string | null;
}

const versionColumns: ColumnDef<VersionRow, unknown>[] = [
  { header: 'Version', cell: ({ row }) => row.original.version },
  { header: 'Saved', cell: ({ row }) => formatTime(row.original.createdAt) },
  { header: 'By', cell: ({ row }) => row.original.createdBy ?? '—' },
  { header: 'Reason', cell: ({ row }) => row.original.reason ?? '—' },
  {
    header: 'Settings',
    cell: ({ row }) => (
      <code className="block max-w-xl whitespace-pre-wrap break-all text-xs">
        {JSON.stringify(row.original.settings)}
      </code>
    ),
  },
];

export function SettingsView() {
  const trpc = useTRPC();
  const canEdit = useCan('admin');
  const settings = useQuery(trpc.settings.get.queryOptions());
  const [page, setPage] = useState(1);
  const versions = useQuery({
    ...trpc.settings.versions.queryOptions({ page, perPage: 10 }),
    placeholderData: (p) => p,
  });
  const workers = useQuery(trpc.workers.find.queryOptions());
  const current = settings.data?.current ?? null;
  const [outcome, setOutcome] = useState<SaveOutcome | null>(null);

  const driftColumns: ColumnDef<WorkerView, unknown>[] = [
    { header: 'Worker', cell: ({ row }) => row.original.hostname },
    {
      header: 'Runs version',
      cell: ({ row }) => {
        const v = row.original.settingsVersion;
        if (v === null) return <Badge>unknown</Badge>;
        if (current && v !== current.version)
          return <Badge tone="amber">{`${v} (current is ${current.version})`}</Badge>;
        return <Badge tone="green">{`${v} (current)`}</Badge>;
      },
    },
    { header: 'Pinned by its command line', cell: ({ row }) => row.original.pinned.join(', ') || '—' },
    { header: 'Status', cell: ({ row }) => (row.original.alive ? 'online' : 'offline') },
  ];

  return (
    <div className="space-y-6">
      <PageHeader title="Settings" />
      <p className="text-sm text-slate-600">
        Workers read these settings from Redis when they start; fields marked “applies live” also reach
        running workers at once. A worker’s command-line flags win over them.
      </p>
      {settings.error && <Alert tone="error">{errorMessage(settings.error)}</Alert>}
      {settings.data && (
        <SettingsForm
          key={current?.version ?? 0}
          current={current}
          canEdit={canEdit}
          outcome={outcome}
          setOutcome={setOutcome}
        />
      )}
      <Card title="Which workers run which version">
        <DataTable
          label="Settings version per worker"
          columns={driftColumns}
          data={workers.data}
          isLoading={workers.isLoading}
          error={workers.error ? errorMessage(workers.error) : null}
          empty="No worker heard from."
          rowKey={(w) => w.hostname}
        />
      </Card>
      <Card title="Version history">
        <DataTable
          label="Settings versions"
          columns={versionColumns}
          data={versions.data?.items}
          isLoading={versions.isLoading}
          error={versions.error ? errorMessage(versions.error) : null}
          empty="No version saved from the console yet."
          rowKey={(v) => String(v.version)}
          paging={
            versions.data ? { page, perPage: 10, total: versions.data.total, onPage: setPage } : undefined
          }
        />
      </Card>
    </div>
  );
}
