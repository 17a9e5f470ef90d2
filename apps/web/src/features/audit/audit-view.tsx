'use client';
import { useQuery } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import Link from 'next/link';
import { useMemo } from 'react';
import { DataTable, urlPaging } from '@/components/data-table';
import { FilterBar } from '@/components/filter-bar';
import { plural } from '@/components/plural';
import { Time } from '@/components/time';
import { ExportLinks } from '@/components/export-links';
import { Badge, PageHeader } from '@/components/ui';
import { useUrlState } from '@/components/use-url-state';
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

/** Unchanged fields listed by name and value; more than this are only counted. */
const CONTEXT_FIELDS = 4;

/**
 * Before/after as a per-field diff: removed, added, changed; then the unchanged fields as context (the
 * task an action was on), or their count when there are many (a settings version).
 */
export function AuditDiff({ before, after }: { before: unknown; after: unknown }) {
  const b = flatten(before);
  const a = flatten(after);
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])].sort();
  const changed = keys.filter((k) => b[k] !== a[k]);
  const same = keys.filter((k) => b[k] === a[k]);
  if (changed.length === 0 && same.length === 0) return <span className="text-slate-400">—</span>;
  return (
    <div className="text-xs">
      {changed.length > 0 && (
        <table aria-label="Before and after">
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
      )}
      {same.length > 0 && (
        <p aria-label="Unchanged" className="mt-1 font-mono text-slate-500">
          {same.length <= CONTEXT_FIELDS
            ? same.map((k) => `${k} ${b[k]}`).join(' · ')
            : `${plural(same.length, 'field')} unchanged`}
        </p>
      )}
    </div>
  );
}

const OUTCOME_TONE = { ok: 'green', partial: 'amber', error: 'red' } as const;

const link = 'font-mono text-xs text-emerald-800 hover:underline';
const q = encodeURIComponent;

/** Where an action's target is shown: the task, the worker, the queue, the task name, the user. */
function targetHref(action: string, target: string): string | null {
  const [domain] = action.split('.');
  if (domain === 'task') return `/tasks/${q(target)}`;
  if (domain === 'pool' || action === 'queue.add' || action === 'queue.cancel') return '/workers';
  if (action === 'queue.purge') return `/queues`;
  if (domain === 'limit') return `/tasks?name=${q(target)}`;
  if (domain === 'settings') return '/settings';
  if (domain === 'user' || domain === 'setup') return '/users';
  return null;
}

/** An entry's target as a link to its page; ids and names are never broken mid-token. */
export function AuditTarget({ action, target }: { action: string; target: string | null }) {
  if (!target) return <span className="text-slate-400">—</span>;
  if (action.startsWith('deadletter.')) {
    // `<queue> <message id>`: the queue's dead letters, then the task the message carried.
    const [queue = '', id = ''] = target.split(' ');
    return (
      <span className="whitespace-nowrap">
        <Link className={link} href={`/dead-letters?queue=${q(queue)}`}>
          {queue}
        </Link>{' '}
        <Link className={link} href={`/tasks/${q(id)}`}>
          {id}
        </Link>
      </span>
    );
  }
  const href = targetHref(action, target);
  return href ? (
    <Link className={`${link} whitespace-nowrap`} href={href}>
      {target}
    </Link>
  ) : (
    <span className="whitespace-nowrap font-mono text-xs">{target}</span>
  );
}

const columns: ColumnDef<AuditEntryView, unknown>[] = [
  {
    header: 'When',
    cell: ({ row }) => <Time value={row.original.at} />,
  },
  { header: 'Who', cell: ({ row }) => row.original.actorEmail ?? 'system' },
  {
    header: 'Action',
    cell: ({ row }) => AUDIT_ACTION_LABELS[row.original.action as AuditAction] ?? row.original.action,
  },
  {
    header: 'On',
    cell: ({ row }) => <AuditTarget action={row.original.action} target={row.original.target} />,
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

  return (
    <div>
      <PageHeader title="Audit log">
        <ExportLinks
          what="audit log"
          path="/api/export/audit"
          filters={{
            actor: search.actor,
            action: search.action,
            outcome: search.outcome,
            from: search.from,
            to: search.to,
          }}
        />
      </PageHeader>
      <FilterBar
        label="Audit filters"
        update={update}
        filters={[
          { kind: 'text', name: 'actor', label: 'Actor', value: search.actor, suggestions: actors.data },
          {
            kind: 'select',
            name: 'action',
            label: 'Action',
            value: search.action,
            any: 'Any action',
            options: AUDIT_ACTIONS.map((a) => ({ value: a, label: AUDIT_ACTION_LABELS[a] })),
          },
          {
            kind: 'select',
            name: 'outcome',
            label: 'Outcome',
            value: search.outcome,
            any: 'Any outcome',
            options: AUDIT_OUTCOMES.map((o) => ({ value: o, label: o })),
          },
          { kind: 'time', name: 'from', label: 'From', value: search.from },
          { kind: 'time', name: 'to', label: 'To', value: search.to },
        ]}
      />
      <DataTable
        label="Audit log"
        columns={columns}
        data={audit.data?.items}
        isLoading={audit.isLoading}
        error={audit.error ? errorMessage(audit.error) : null}
        empty="No entry matches."
        rowKey={(e) => e.id}
        paging={urlPaging(audit.data, update)}
      />
    </div>
  );
}
