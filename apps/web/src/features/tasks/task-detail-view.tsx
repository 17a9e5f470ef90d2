'use client';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import type { ReactNode } from 'react';
import { Time } from '@/components/time';
import { Alert, Card, PageHeader, StateBadge, formatTime } from '@/components/ui';
import type { TaskFate, TaskRow } from '@/server/presenters/task-presenter';
import { errorMessage, useTRPC } from '@/trpc/react';
import { TaskActions } from './task-actions';
import { TaskWorkflow } from './task-workflow';
import { LiveBadge, useLiveTasks } from './use-live-tasks';

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div role="group" aria-label={label} className="grid grid-cols-3 gap-2 py-1 text-sm">
      <dt className="text-slate-500">{label}</dt>
      <dd className="col-span-2 break-all text-slate-900">{children}</dd>
    </div>
  );
}

function Code({ label, text }: { label: string; text: string | null }) {
  if (!text) return null;
  return (
    <div>
      <h3 className="mb-1 text-xs font-semibold uppercase text-slate-500">{label}</h3>
      <pre
        aria-label={label}
        className="max-h-96 overflow-auto rounded bg-slate-900 p-3 text-xs text-slate-100"
      >
        {text}
      </pre>
    </div>
  );
}

function TaskLink({ task }: { task: TaskRow }) {
  return (
    <li className="flex items-center gap-2 text-sm">
      <StateBadge state={task.state} />
      <Link className="text-emerald-800 hover:underline" href={`/tasks/${encodeURIComponent(task.id)}`}>
        {task.name ?? '(unknown)'}
      </Link>
      <span className="font-mono text-xs text-slate-500">{task.id}</span>
    </li>
  );
}

/** Where a task went that no worker ran: rejected to a dead letter, or purged with its queue. */
function Fate({ fate }: { fate: TaskFate }) {
  if (fate.kind === 'purged') {
    return (
      <Alert tone="info">
        Purged: {fate.by} emptied the queue {fate.queue} at {formatTime(fate.at)} while this task waited in
        it. No worker will run it.
      </Alert>
    );
  }
  const letter = fate.deadLetter;
  return (
    <Alert tone="info">
      Rejected by the worker{fate.reason ? `: ${fate.reason}` : ''}.{' '}
      {letter && (
        <>
          Its message is kept in the dead letters of {letter.queue}:{' '}
          <Link
            className="font-medium underline"
            href={`/dead-letters?queue=${encodeURIComponent(letter.queue)}&letter=${encodeURIComponent(letter.id)}`}
          >
            dead letter {letter.id}
          </Link>
          , to requeue once the cause is fixed, or delete.
        </>
      )}
    </Alert>
  );
}

export function TaskDetailView({ id }: { id: string }) {
  const trpc = useTRPC();
  const q = useQuery(trpc.tasks.get.queryOptions({ id }));
  const wf = useQuery(trpc.tasks.workflow.queryOptions({ id }));
  const live = useLiveTasks([id, ...(q.data?.children.map((c) => c.id) ?? []), ...(wf.data?.ids ?? [])]);
  if (q.error) return <Alert tone="error">{errorMessage(q.error)}</Alert>;
  if (!q.data) return <p className="text-slate-500">Loading…</p>;
  const t = q.data;
  return (
    <div className="space-y-4">
      <PageHeader title={t.name ?? 'Task'}>
        <div className="flex items-center gap-3">
          <StateBadge state={t.state} />
          <LiveBadge {...live} />
        </div>
      </PageHeader>
      {t.fate && <Fate fate={t.fate} />}
      <div className="grid gap-4 lg:grid-cols-2">
        <Card title="Details">
          <dl>
            <Row label="Id">
              <span className="font-mono">{t.id}</span>
            </Row>
            <Row label="State">
              <StateBadge state={t.state} />
            </Row>
            <Row label="Worker">{t.worker ?? '—'}</Row>
            <Row label="Queue">{t.queue ?? '—'}</Row>
            <Row label="Retries">{t.retries}</Row>
            <Row label="Runtime">{t.runtime !== null ? `${t.runtime.toFixed(3)} s` : '—'}</Row>
            <Row label="ETA">
              <Time value={t.eta} />
            </Row>
            <Row label="Expires">
              <Time value={t.expires} />
            </Row>
            <Row label="Root">
              {t.rootId && t.rootId !== t.id ? (
                <Link
                  className="text-emerald-800 hover:underline"
                  href={`/tasks/${encodeURIComponent(t.rootId)}`}
                >
                  {t.rootId}
                </Link>
              ) : (
                '—'
              )}
            </Row>
          </dl>
        </Card>
        <Card title="Actions">
          <TaskActions task={t} />
        </Card>
      </div>
      <Card title="Workflow">
        {wf.error ? (
          <Alert tone="error">{errorMessage(wf.error)}</Alert>
        ) : wf.data ? (
          <TaskWorkflow workflow={wf.data} />
        ) : (
          <p className="text-sm text-slate-500">Loading…</p>
        )}
      </Card>
      <Card title="Arguments and result">
        <div className="space-y-3">
          <Code label="Positional arguments" text={t.args} />
          <Code label="Keyword arguments" text={t.kwargs} />
          <Code label="Result" text={t.result} />
          <Code label="Exception" text={t.exception} />
          <Code label="Traceback" text={t.traceback} />
        </div>
      </Card>
      <div className="grid gap-4 lg:grid-cols-2">
        <Card title="Timeline">
          <ol aria-label="State timeline" className="space-y-1 text-sm">
            {t.timeline.map((e) => (
              <li key={e.kind} className="flex justify-between gap-4">
                <span className="font-medium capitalize">{e.kind}</span>
                <span className="text-slate-600">
                  <Time value={e.at} />
                </span>
              </li>
            ))}
          </ol>
        </Card>
        <Card title="Parent and children">
          <h3 className="mb-1 text-xs font-semibold uppercase text-slate-500">Parent</h3>
          {t.parent ? (
            <ul>
              <TaskLink task={t.parent} />
            </ul>
          ) : (
            <p className="text-sm text-slate-500">
              {t.parentId ? `${t.parentId} (not in the index)` : 'None'}
            </p>
          )}
          <h3 className="mb-1 mt-3 text-xs font-semibold uppercase text-slate-500">
            Children (including retries sent from here)
          </h3>
          {t.children.length ? (
            <ul aria-label="Children" className="space-y-1">
              {t.children.map((c) => (
                <TaskLink key={c.id} task={c} />
              ))}
            </ul>
          ) : (
            <p className="text-sm text-slate-500">None</p>
          )}
        </Card>
      </div>
    </div>
  );
}
