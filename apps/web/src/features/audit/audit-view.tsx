'use client';
import { useQuery } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import { useMemo, type FormEvent } from 'react';
import { DataTable } from '@/components/data-table';
import { Badge, Button, Input, PageHeader, Select, formatTime } from '@/components/ui';
import { toLocalInput, useUrlState } from '@/components/use-url-state';
import type { AuditEntryView } from '@/server/presenters/audit-presenter';
import {
  AUDIT_ACTION_LABELS,
  AUDIT_ACTIONS,
  AUDIT_OUTCOMES,
  type AuditAction,
} from '@/server/routers/audit/audit-actions';
import { auditSearchFromParams } from '@/server/routers/audit/find-audit.schema';
import { errorMessage, useTRPC } from '@/trpc/react';

type Flat = Record<string, string>;

function flatten(value: unknown, prefix = '', out: Flat = {}): Flat {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix || value !== null) {
    out[prefix || '(value)'] = JSON.stringify(value);
  }
  return out;
}

/** Before/after as a per-field diff: removed, added, changed. */
export function AuditDiff({ before, after }: { before: unknown; after: unknown }) {
  const b = flatten(before);
  const a = flatten(after);
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
  const changed = keys.filter((k) => b[k] !== a[k]);
  if (changed.length === 0) return <span className="text-slate-400">—</span>;
  return (
    <table aria-label="Before and after" className="text-xs">
      <tbody>
        {changed.map((k) => (
          <tr key={k}>
            <td className="pr-2 font-mono text-slate-600">{k}</td>
            <td className="pr-1 font-mono text-red-700 line-through">{b[k] ?? ''}</td>
            <td className="font-mono text-emerald-800">{a[k] ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const OUTCOME_TONE = { ok: 'green', partial: 'amber', error: 'red' } as const;

const columns: ColumnDef<AuditEntryView, unknown>[] = [
  {
    header: 'When',
    cell: ({ row }) => <span className="whitespace-nowrap">{formatTime(row.original.at)}</span>,
  },
  { header: 'Who', cell: ({ row }) => row.original.actorEmail ?? 'system' },
  {
    header: 'Action',
    cell: ({ row }) => AUDIT_ACTION_LABELS[row.original.action as AuditAction] ?? row.original.action,
  },
  {
    header: 'On',
    cell: ({ row }) => <span className="break-all font-mono text-xs">{row.original.target ?? '—'}</span>,
  },
  {
    header: 'Outcome',
    cell: ({ row }) => {
      const o = row.original;
      const err = (o.detail as { error?: string } | null)?.error;
      return (
        <div>
          <Badge tone={OUTCOME_TONE[o.outcome as keyof typeof OUTCOME_TONE] ?? 'gray'}>{o.outcome}</Badge>
          {err && <div className="mt-1 text-xs text-red-700">{err}</div>}
        </div>
      );
    },
  },
  { header: 'Reason', cell: ({ row }) => row.original.reason ?? '—' },
  {
    header: 'Before → after',
    cell: ({ row }) => <AuditDiff before={row.original.before} after={row.original.after} />,
  },
];

export function AuditView() {
  const trpc = useTRPC();
  const { params, update } = useUrlState();
  const search = useMemo(() => auditSearchFromParams(params), [params]);
  const audit = useQuery({ ...trpc.audit.find.queryOptions(search), placeholderData: (p) => p });
  const actors = useQuery(trpc.audit.actors.queryOptions());

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const get = (k: string) => String(f.get(k) ?? '').trim();
    update({
      actor: get('actor'),
      action: get('action'),
      outcome: get('outcome'),
      from: get('from'),
      to: get('to'),
    });
  }

  return (
    <div>
      <PageHeader title="Audit log" />
      <form
        key={params.toString()}
        onSubmit={onSubmit}
        aria-label="Audit filters"
        className="mb-4 grid grid-cols-2 gap-2 rounded-lg border border-slate-200 bg-white p-3 md:grid-cols-3 xl:grid-cols-6"
      >
        <label className="text-xs text-slate-600">
          Actor
          <Input name="actor" list="audit-actors" defaultValue={search.actor ?? ''} aria-label="Actor" />
        </label>
        <label className="text-xs text-slate-600">
          Action
          <Select name="action" defaultValue={search.action ?? ''} aria-label="Action">
            <option value="">Any action</option>
            {AUDIT_ACTIONS.map((a) => (
              <option key={a} value={a}>
                {AUDIT_ACTION_LABELS[a]}
              </option>
            ))}
          </Select>
        </label>
        <label className="text-xs text-slate-600">
          Outcome
          <Select name="outcome" defaultValue={search.outcome ?? ''} aria-label="Outcome">
            <option value="">Any outcome</option>
            {AUDIT_OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </Select>
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
        <div className="flex items-end gap-2">
          <Button type="submit">Apply filters</Button>
          <Button
            variant="ghost"
            onClick={() => update({ actor: null, action: null, outcome: null, from: null, to: null })}
          >
            Clear
          </Button>
        </div>
        <datalist id="audit-actors">
          {actors.data?.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
      </form>
      <DataTable
        label="Audit log"
        columns={columns}
        data={audit.data?.items}
        isLoading={audit.isLoading}
        error={audit.error ? errorMessage(audit.error) : null}
        empty="No entry matches."
        rowKey={(e) => e.id}
        paging={
          audit.data
            ? {
                page: audit.data.page,
                perPage: audit.data.perPage,
                total: audit.data.total,
                onPage: (page) => update({ page }),
              }
            : undefined
        }
      />
    </div>
  );
}
