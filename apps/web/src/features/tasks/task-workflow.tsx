'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { plural } from '@/components/plural';
import { Alert, Button, StateBadge, formatTime } from '@/components/ui';
import type {
  Workflow,
  WorkflowGroup,
  WorkflowNode,
  WorkflowTask,
} from '@/server/presenters/workflow-presenter';
import { errorMessage, useTRPC } from '@/trpc/react';
import { useCan } from '../auth/session-context';

/** A UUID's first 8 characters (the whole id is in the tooltip); a short id as it is. */
const short = (id: string) => (id.length > 12 ? id.slice(0, 8) : id);

/** Clock time of the day; the full time is in the tooltip. */
const clock = (at: number | null) => (at === null ? null : formatTime(at).slice(11));

function Times({ task }: { task: WorkflowTask }) {
  const ran =
    task.startedAt !== null && task.finishedAt !== null
      ? `${((task.finishedAt - task.startedAt) / 1000).toFixed(2)} s`
      : null;
  const title = [
    task.sentAt !== null && `sent ${formatTime(task.sentAt)}`,
    task.startedAt !== null && `started ${formatTime(task.startedAt)}`,
    task.finishedAt !== null && `finished ${formatTime(task.finishedAt)}`,
  ]
    .filter(Boolean)
    .join(', ');
  return (
    <span className="text-xs text-slate-500" title={title || undefined}>
      {clock(task.sentAt) ?? '—'}
      {ran && ` · ran ${ran}`}
    </span>
  );
}

/** A row: connector, state, name linked to the task's page, short id; the page's own task highlighted. */
function TaskNode({ task }: { task: WorkflowTask }) {
  return (
    <li className="relative before:absolute before:-left-3 before:top-3 before:w-3 before:border-t before:border-slate-300">
      <div
        className={`flex flex-wrap items-center gap-2 rounded px-1 py-0.5 text-sm ${
          task.current ? 'bg-emerald-50 ring-1 ring-emerald-600' : ''
        }`}
      >
        <StateBadge state={task.state} />
        {task.current ? (
          <span aria-current="page" className="font-medium text-slate-900">
            {task.name ?? '(unknown)'} (this task)
          </span>
        ) : (
          <Link
            className="text-emerald-800 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-emerald-600"
            href={`/tasks/${encodeURIComponent(task.id)}`}
          >
            {task.name ?? '(unknown)'}
          </Link>
        )}
        <span className="font-mono text-xs text-slate-500" title={task.id}>
          {short(task.id)}
        </span>
        <Times task={task} />
      </div>
      {task.children.length > 0 && <Branch nodes={task.children} label={`Sent by ${task.name ?? task.id}`} />}
    </li>
  );
}

/** Retry group / Revoke group, confirmed first like the task's own actions (operators). */
function GroupActions({ group }: { group: WorkflowGroup }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const canOperate = useCan('operator');
  const [outcome, setOutcome] = useState<{ tone: 'success' | 'error'; text: string } | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.tasks.pathKey() });
  const retry = useMutation(
    trpc.tasks.retryGroup.mutationOptions({
      onSuccess: (r) => setOutcome({ tone: 'success', text: r.message }),
      onError: (e) => setOutcome({ tone: 'error', text: `Retry group failed: ${errorMessage(e)}` }),
      onSettled: refresh,
    }),
  );
  const revoke = useMutation(
    trpc.tasks.revokeGroup.mutationOptions({
      onSuccess: (r) => setOutcome({ tone: 'success', text: r.message }),
      onError: (e) => setOutcome({ tone: 'error', text: `Revoke group failed: ${errorMessage(e)}` }),
      onSettled: refresh,
    }),
  );
  if (!canOperate) return null;
  const busy = retry.isPending || revoke.isPending;
  const members = plural(group.total, 'task');
  return (
    <div className="space-y-1">
      <div className="flex flex-wrap gap-2">
        <Button
          variant="secondary"
          className="px-2 py-0.5 text-xs"
          disabled={busy || group.failed === 0}
          title={group.failed === 0 ? 'No member failed' : 'Send every failed member again, as new tasks'}
          onClick={() => {
            if (window.confirm(`Send the failed tasks of group ${group.id} again?`)) {
              retry.mutate({ group: group.id });
            }
          }}
        >
          Retry group
        </Button>
        <Button
          variant="danger"
          className="px-2 py-0.5 text-xs"
          disabled={busy || group.unfinished === 0}
          title={group.unfinished === 0 ? 'Every member already ended' : undefined}
          onClick={() => {
            if (window.confirm(`Revoke all ${members} of group ${group.id}?`)) {
              revoke.mutate({ group: group.id });
            }
          }}
        >
          Revoke group
        </Button>
      </div>
      {outcome && <Alert tone={outcome.tone}>{outcome.text}</Alert>}
    </div>
  );
}

function GroupNode({ group }: { group: WorkflowGroup }) {
  const shown = group.members.length;
  return (
    <li className="relative before:absolute before:-left-3 before:top-4 before:w-3 before:border-t before:border-slate-300">
      <div
        role="group"
        aria-label={`Group ${group.id}`}
        className="space-y-1 rounded-md border border-dashed border-slate-300 bg-slate-50 p-2"
      >
        <div className="flex flex-wrap items-center justify-between gap-2">
          <span className="text-xs text-slate-600">
            Group{' '}
            <span className="font-mono" title={group.id}>
              {short(group.id)}
            </span>{' '}
            · {plural(group.total, 'member')}
            {shown < group.total && ` (${shown} here)`}
            {group.failed > 0 && ` · ${group.failed} failed`}
          </span>
          <GroupActions group={group} />
        </div>
        <ul aria-label={`Members of group ${group.id}`} className="space-y-1">
          {group.members.map((m) => (
            <TaskNode key={m.id} task={m} />
          ))}
        </ul>
      </div>
    </li>
  );
}

function Branch({ nodes, label }: { nodes: WorkflowNode[]; label: string }) {
  return (
    <ul aria-label={label} className="ml-3 mt-1 space-y-1 border-l border-slate-300 pl-3">
      {nodes.map((n) =>
        n.kind === 'group' ? <GroupNode key={`g:${n.id}`} group={n} /> : <TaskNode key={n.id} task={n} />,
      )}
    </ul>
  );
}

/**
 * The task's workflow as an indented tree: the root, what each task sent (its children by parent), group
 * members boxed together with their group actions. Every row links to its task (Tab moves through them).
 */
export function TaskWorkflow({ workflow }: { workflow: Workflow }) {
  const only = workflow.shown === 1 && workflow.more === 0;
  return (
    <div className="space-y-2">
      {!workflow.rootKnown && (
        <p className="text-xs text-slate-500">
          The root {workflow.rootId} is not in the index (trimmed, or sent without task events).
        </p>
      )}
      {only ? (
        <p className="text-sm text-slate-500">This task is on its own: no parent, children or group.</p>
      ) : (
        <Branch nodes={workflow.nodes} label="Workflow" />
      )}
      {workflow.more > 0 && (
        <p className="text-xs text-slate-500">
          {workflow.more} more not shown (a workflow view shows at most {workflow.limit} tasks).
        </p>
      )}
    </div>
  );
}
