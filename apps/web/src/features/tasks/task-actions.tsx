'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { useId, useState } from 'react';
import { Alert, Button, Field, Textarea } from '@/components/ui';
import type { TaskDetail } from '@/server/presenters/task-presenter';
import { errorMessage, useTRPC } from '@/trpc/react';
import { useCan } from '../auth/session-context';
import { TaskReplay } from './task-replay';

/** Retry / Revoke / Revoke and terminate, with an optional reason and the outcome shown (operators). */
export function TaskActions({ task }: { task: TaskDetail }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const canOperate = useCan('operator');
  const reasonId = useId();
  const [reason, setReason] = useState('');
  const [outcome, setOutcome] = useState<{
    tone: 'success' | 'error';
    text: string;
    newTaskId?: string;
  } | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.tasks.pathKey() });

  const retry = useMutation(
    trpc.tasks.retry.mutationOptions({
      onSuccess: (r) => {
        setOutcome({ tone: 'success', text: r.message, newTaskId: r.newTaskId });
        setReason('');
      },
      onError: (e) => setOutcome({ tone: 'error', text: `Retry failed: ${errorMessage(e)}` }),
      onSettled: refresh,
    }),
  );
  const revoke = useMutation(
    trpc.tasks.revoke.mutationOptions({
      onSuccess: (r) => {
        setOutcome({ tone: 'success', text: r.message });
        // The reason was for this action; the next one gets its own.
        setReason('');
      },
      onError: (e) => setOutcome({ tone: 'error', text: `Revoke failed: ${errorMessage(e)}` }),
      onSettled: refresh,
    }),
  );

  if (!canOperate) {
    return <p className="text-sm text-slate-500">Retry and revoke need the operator role.</p>;
  }
  const busy = retry.isPending || revoke.isPending;
  const why = reason.trim() || undefined;
  // A finished task has nothing left to stop.
  const revokeTitle = task.final ? `The task already ended (${task.state}): nothing to revoke` : undefined;
  return (
    <div className="space-y-3">
      <Field id={reasonId} label="Reason (optional, kept in the audit log)">
        <Textarea
          id={reasonId}
          rows={2}
          value={reason}
          maxLength={500}
          onChange={(e) => setReason(e.target.value)}
        />
      </Field>
      <div className="flex flex-wrap gap-2">
        <Button
          disabled={busy || task.retryBlockedReason !== null}
          title={task.retryBlockedReason ?? 'Send the task again with the same arguments, as a new task'}
          onClick={() => retry.mutate({ id: task.id, reason: why })}
        >
          Retry
        </Button>
        <Button
          variant="secondary"
          disabled={busy || task.final}
          title={revokeTitle}
          onClick={() => revoke.mutate({ id: task.id, terminate: false, reason: why })}
        >
          Revoke
        </Button>
        <Button
          variant="danger"
          disabled={busy || task.final}
          title={revokeTitle}
          onClick={() => {
            if (window.confirm('Revoke this task and terminate it if it is running?')) {
              revoke.mutate({ id: task.id, terminate: true, reason: why });
            }
          }}
        >
          Revoke and terminate
        </Button>
      </div>
      {task.retryBlockedReason && <p className="text-xs text-slate-500">Retry: {task.retryBlockedReason}.</p>}
      {revokeTitle && <p className="text-xs text-slate-500">Revoke: {revokeTitle.toLowerCase()}.</p>}
      <TaskReplay task={task} />
      {outcome && (
        <Alert tone={outcome.tone}>
          {outcome.text}{' '}
          {outcome.newTaskId && (
            <button
              type="button"
              className="underline"
              onClick={() => router.push(`/tasks/${outcome.newTaskId}`)}
            >
              Open the new task
            </button>
          )}
        </Alert>
      )}
    </div>
  );
}
