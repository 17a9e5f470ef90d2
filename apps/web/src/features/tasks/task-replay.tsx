'use client';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useId, useState, type FormEvent } from 'react';
import { Alert, Button, Field, Input, Textarea, errorAria } from '@/components/ui';
import type { TaskDetail } from '@/server/presenters/task-presenter';
import { errorMessage, fieldIssues, useTRPC } from '@/trpc/react';

/**
 * Replay with edits (operators): the task's arguments as JSON, its queue, a countdown and a priority, each
 * editable, checked by the server's schema (errors under their fields); sent as a new task linked to this
 * one. Secrets show masked; a masked value left as it is keeps the original.
 */
export function TaskReplay({ task }: { task: TaskDetail }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const id = useId();
  const [open, setOpen] = useState(false);
  const replay = useMutation(
    trpc.tasks.replay.mutationOptions({
      onSuccess: () => setOpen(false),
      onSettled: () => queryClient.invalidateQueries({ queryKey: trpc.tasks.pathKey() }),
    }),
  );
  const issue = (field: string) => fieldIssues(replay.error).find((i) => i.path[0] === field)?.message;
  const done = replay.data && !open;
  if (!open) {
    return (
      <div className="space-y-2">
        <Button
          variant="secondary"
          disabled={!task.final}
          title={task.final ? undefined : `The task is still ${task.state}: revoke it first`}
          onClick={() => {
            replay.reset();
            setOpen(true);
          }}
        >
          Replay with edits…
        </Button>
        {done && (
          <Alert tone="success">
            {replay.data.message}{' '}
            <Link className="underline" href={`/tasks/${replay.data.newTaskId}`}>
              Open the new task
            </Link>
          </Alert>
        )}
      </div>
    );
  }
  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    const text = (k: string) => String(f.get(k) ?? '').trim();
    const int = (k: string) => (text(k) === '' ? undefined : Number(text(k)));
    replay.mutate({
      id: task.id,
      args: text('args'),
      kwargs: text('kwargs') || '{}',
      queue: text('queue') || undefined,
      countdown: int('countdown'),
      priority: int('priority'),
      reason: text('reason') || undefined,
    });
  }
  const fieldId = (k: string) => `${id}-${k}`;
  return (
    <form onSubmit={onSubmit} aria-label="Replay with edits" className="space-y-3">
      {!task.replay && (
        <p className="text-xs text-slate-600">
          The original arguments are known only as Python reprs (a Celery worker ran it): type them as JSON.
        </p>
      )}
      <Field id={fieldId('args')} label="Arguments (JSON array)" error={issue('args')}>
        <Textarea
          id={fieldId('args')}
          name="args"
          rows={4}
          className="font-mono"
          defaultValue={task.replay?.args ?? '[]'}
          {...errorAria(fieldId('args'), issue('args'))}
        />
      </Field>
      <Field id={fieldId('kwargs')} label="Keyword arguments (JSON object)" error={issue('kwargs')}>
        <Textarea
          id={fieldId('kwargs')}
          name="kwargs"
          rows={3}
          className="font-mono"
          defaultValue={task.replay?.kwargs ?? '{}'}
          {...errorAria(fieldId('kwargs'), issue('kwargs'))}
        />
      </Field>
      <div className="grid gap-3 sm:grid-cols-3">
        <Field id={fieldId('queue')} label="Queue" error={issue('queue')}>
          <Input
            id={fieldId('queue')}
            name="queue"
            defaultValue={task.queue ?? ''}
            {...errorAria(fieldId('queue'), issue('queue'))}
          />
        </Field>
        <Field id={fieldId('countdown')} label="Countdown (seconds)" error={issue('countdown')}>
          <Input
            id={fieldId('countdown')}
            name="countdown"
            type="number"
            min={0}
            {...errorAria(fieldId('countdown'), issue('countdown'))}
          />
        </Field>
        <Field id={fieldId('priority')} label="Priority (0-9)" error={issue('priority')}>
          <Input
            id={fieldId('priority')}
            name="priority"
            type="number"
            min={0}
            max={9}
            {...errorAria(fieldId('priority'), issue('priority'))}
          />
        </Field>
      </div>
      <Field id={fieldId('reason')} label="Reason (optional, kept in the audit log)" error={issue('reason')}>
        <Textarea id={fieldId('reason')} name="reason" rows={2} maxLength={500} />
      </Field>
      <div className="flex gap-2">
        <Button type="submit" disabled={replay.isPending}>
          Replay
        </Button>
        <Button variant="ghost" onClick={() => setOpen(false)}>
          Cancel
        </Button>
      </div>
      {replay.error && fieldIssues(replay.error).length === 0 && (
        <Alert tone="error">Replay failed: {errorMessage(replay.error)}</Alert>
      )}
    </form>
  );
}
