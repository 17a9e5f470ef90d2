'use client';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { useFieldArray, useForm, type FieldErrors, type Resolver } from 'react-hook-form';
import {
  POOL_KINDS,
  SETTING_APPLIES,
  workerSettingsSchema,
  type SettingsVersion,
} from '@lovage/runtime/settings';
import { Alert, Badge, Button, Card, Field, Input, Select, Textarea } from '@/components/ui';
import { errorMessage, fieldIssues, useTRPC } from '@/trpc/react';
import { capacityWarnings, describeHost } from '../workers/capacity';
import { ConfirmChange } from '../workers/confirm-change';
import {
  formPath,
  NUMBER_FIELDS,
  toFormValues,
  toSettings,
  type SettingKey,
  type SettingsFormValues,
} from './settings-fields';

function AppliesBadge({ setting }: { setting: SettingKey }) {
  return SETTING_APPLIES[setting] === 'live' ? (
    <Badge tone="green" title="Pushed to running workers by remote control">
      applies live
    </Badge>
  ) : (
    <Badge tone="amber" title="Read by each worker when it starts">
      applies at next worker start
    </Badge>
  );
}

function setPath(target: Record<string, unknown>, path: string, message: string) {
  const parts = path.split('.');
  let node = target;
  parts.slice(0, -1).forEach((p) => {
    node[p] ??= {};
    node = node[p] as Record<string, unknown>;
  });
  const last = parts[parts.length - 1]!;
  node[last] ??= { type: 'validation', message };
}

/** The one settings schema (the runtime's) checks the form, mapped back onto the form's fields. */
const resolver: Resolver<SettingsFormValues> = async (values) => {
  const { settings, rowOf } = toSettings(values);
  const errors: Record<string, unknown> = {};
  const seen = new Set<string>();
  values.rows.forEach((r, i) => {
    const t = r.task.trim();
    if (!t && (r.rateLimit || r.timeLimit || r.softTimeLimit))
      setPath(errors, `rows.${i}.task`, 'is required');
    else if (t && seen.has(t)) setPath(errors, `rows.${i}.task`, 'is listed twice');
    seen.add(t);
  });
  const res = workerSettingsSchema.safeParse(settings);
  if (!res.success)
    for (const issue of res.error.issues)
      setPath(errors, formPath(issue.path as (string | number)[], rowOf), issue.message);
  if (values.reason.length > 500) setPath(errors, 'reason', 'must be at most 500 characters');
  return Object.keys(errors).length
    ? { values: {}, errors: errors as FieldErrors<SettingsFormValues> }
    : { values, errors: {} };
};

export interface SaveOutcome {
  tone: 'success' | 'error';
  text: string;
  conflict?: boolean;
}

/**
 * The settings form. It is re-mounted for each new version (its key), so the outcome of a save lives in
 * the parent and stays on screen after the form reloads.
 */
export function SettingsForm({
  current,
  canEdit,
  outcome,
  setOutcome,
}: {
  current: SettingsVersion | null;
  canEdit: boolean;
  outcome: SaveOutcome | null;
  setOutcome: (o: SaveOutcome | null) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const form = useForm<SettingsFormValues>({ defaultValues: toFormValues(current?.settings), resolver });
  const rows = useFieldArray({ control: form.control, name: 'rows' });
  const { errors } = form.formState;
  const err = (path: string): string | undefined => {
    const node = path
      .split('.')
      .reduce<unknown>((n, p) => (n as Record<string, unknown> | undefined)?.[p], errors);
    return (node as { message?: string } | undefined)?.message;
  };

  // The hosts the concurrency must fit on, shown beside it and weighed before a save.
  const workers = useQuery(trpc.workers.find.queryOptions());
  const alive = (workers.data ?? []).filter((w) => w.alive);
  const knownTasks = [...new Set(alive.flatMap((w) => w.tasks ?? []))].sort();
  const [confirming, setConfirming] = useState<{ values: SettingsFormValues; warnings: string[] } | null>(
    null,
  );
  // A warning is about the values it was shown for: any edit withdraws it.
  useEffect(() => {
    const sub = form.watch(() => setConfirming(null));
    return () => sub.unsubscribe();
  }, [form]);
  // One save at a time: a second click (or Enter) while one is on its way sends nothing.
  const sending = useRef(false);

  const save = useMutation(
    trpc.settings.update.mutationOptions({
      onSettled: () => {
        sending.current = false;
      },
      onSuccess: (r) => {
        setOutcome({ tone: 'success', text: r.message });
        void queryClient.invalidateQueries({ queryKey: trpc.settings.pathKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.workers.pathKey() });
      },
      onError: (e, vars) => {
        const { rowOf } = toSettings(form.getValues());
        for (const issue of fieldIssues(e)) {
          const [head, ...rest] = issue.path;
          const path = head === 'settings' ? formPath(rest, rowOf) : (head ?? 'root');
          form.setError(path as never, { type: 'server', message: issue.message });
        }
        const conflict = (e as { data?: { code?: string } }).data?.code === 'CONFLICT';
        setOutcome({ tone: 'error', text: `Not saved: ${errorMessage(e)}`, conflict });
        void vars;
      },
    }),
  );

  const send = (values: SettingsFormValues) => {
    if (sending.current) return;
    sending.current = true;
    setConfirming(null);
    setOutcome(null);
    save.mutate({
      expectedVersion: current?.version ?? 0,
      settings: toSettings(values).settings,
      reason: values.reason.trim() || undefined,
    });
  };

  const onSubmit = form.handleSubmit((values) => {
    if (sending.current) return;
    const { settings } = toSettings(values);
    const target = typeof settings.concurrency === 'number' ? settings.concurrency : null;
    const pool = typeof settings.pool === 'string' ? settings.pool : null;
    const changed = target !== current?.settings.concurrency || pool !== (current?.settings.pool ?? null);
    const warnings =
      target !== null && changed
        ? alive.flatMap((w) => capacityWarnings(w, target, pool ?? w.pool.kind))
        : [];
    if (warnings.length > 0) setConfirming({ values, warnings });
    else send(values);
  });

  return (
    <form onSubmit={onSubmit} noValidate aria-label="Worker settings" className="space-y-4">
      <fieldset disabled={!canEdit || save.isPending || form.formState.isSubmitting} className="space-y-4">
        <Card title="Pool and prefetch">
          <div className="grid gap-4 md:grid-cols-3">
            <Field
              id="pool"
              label="Pool type"
              error={err('pool')}
              badge={<AppliesBadge setting="pool" />}
              hint="Celery: --pool."
            >
              <Select id="pool" aria-invalid={!!err('pool')} {...form.register('pool')}>
                <option value="">App default</option>
                {POOL_KINDS.map((k) => (
                  <option key={k} value={k}>
                    {k}
                  </option>
                ))}
              </Select>
            </Field>
            <Field
              id="acksLate"
              label="Acknowledge late"
              error={err('acksLate')}
              badge={<AppliesBadge setting="acksLate" />}
              hint="Acknowledge after the task ran, not before (task_acks_late)."
            >
              <Select id="acksLate" {...form.register('acksLate')}>
                <option value="">App default</option>
                <option value="true">On</option>
                <option value="false">Off</option>
              </Select>
            </Field>
          </div>
        </Card>
        <Card title="Limits, retries, results and child processes">
          <div className="grid gap-4 md:grid-cols-2 xl:grid-cols-3">
            {NUMBER_FIELDS.map((f) => {
              const id = `num-${f.key}`;
              const none = form.watch(`none.${f.key}`);
              return (
                <Field
                  key={f.key}
                  id={id}
                  label={f.label}
                  hint={
                    f.key === 'concurrency' && alive.length > 0 ? (
                      <>
                        {`${f.hint} Empty: the app's default.`}
                        {alive.map((w) => (
                          <span key={w.hostname} className="block">
                            {`${w.hostname} (${w.pool.kind ?? 'pool unknown'}): ${describeHost(w.host)}`}
                          </span>
                        ))}
                      </>
                    ) : (
                      `${f.hint} Empty: the app's default.`
                    )
                  }
                  error={err(`num.${f.key}`)}
                  badge={<AppliesBadge setting={f.key} />}
                >
                  <div className="flex items-center gap-2">
                    <Input
                      id={id}
                      inputMode="decimal"
                      disabled={none}
                      aria-invalid={!!err(`num.${f.key}`)}
                      aria-describedby={`${id}-hint ${id}-error`}
                      {...form.register(`num.${f.key}`)}
                    />
                    {f.none && (
                      <label className="flex shrink-0 items-center gap-1 text-xs text-slate-700">
                        <input type="checkbox" {...form.register(`none.${f.key}`)} />
                        {f.none}
                      </label>
                    )}
                  </div>
                </Field>
              );
            })}
          </div>
        </Card>
        <Card
          title="Per-task limits"
          actions={
            <span className="flex items-center gap-2">
              <AppliesBadge setting="taskLimits" />
              <Button
                variant="secondary"
                onClick={() => rows.append({ task: '', rateLimit: '', timeLimit: '', softTimeLimit: '' })}
              >
                Add task limit
              </Button>
            </span>
          }
        >
          {rows.fields.length === 0 ? (
            <p className="text-sm text-slate-500">
              No per-task limits: tasks use their own options and the defaults above.
            </p>
          ) : (
            <table aria-label="Per-task limits" className="w-full text-sm">
              <thead className="text-left text-xs text-slate-600">
                <tr>
                  <th className="pb-1">Task name</th>
                  <th className="pb-1">Rate limit (10/s, 100/m, 1000/h)</th>
                  <th className="pb-1">Hard time limit (s)</th>
                  <th className="pb-1">Soft time limit (s)</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {rows.fields.map((row, i) => (
                  <tr key={row.id} className="align-top">
                    {(['task', 'rateLimit', 'timeLimit', 'softTimeLimit'] as const).map((col) => (
                      <td key={col} className="pb-2 pr-2">
                        <Input
                          aria-label={`${{ task: 'Task name', rateLimit: 'Rate limit', timeLimit: 'Hard time limit', softTimeLimit: 'Soft time limit' }[col]} of row ${i + 1}`}
                          aria-invalid={!!err(`rows.${i}.${col}`)}
                          aria-describedby={err(`rows.${i}.${col}`) ? `rows-${i}-${col}-error` : undefined}
                          {...(col === 'task' ? { list: 'known-task-names', autoComplete: 'off' } : {})}
                          {...form.register(`rows.${i}.${col}`)}
                        />
                        {err(`rows.${i}.${col}`) && (
                          <p
                            id={`rows-${i}-${col}-error`}
                            role="alert"
                            className="text-xs font-medium text-red-700"
                          >
                            {err(`rows.${i}.${col}`)}
                          </p>
                        )}
                      </td>
                    ))}
                    <td className="pb-2">
                      <Button
                        variant="ghost"
                        aria-label={`Remove row ${i + 1}`}
                        onClick={() => rows.remove(i)}
                      >
                        Remove
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </Card>
        <Card title="Save">
          <div className="space-y-3">
            <Field id="reason" label="Reason (optional, kept in the audit log)" error={err('reason')}>
              <Textarea id="reason" rows={2} {...form.register('reason')} />
            </Field>
            {confirming && (
              <ConfirmChange
                label="Confirm the concurrency"
                question="This concurrency may be more than the workers can hold. Save it anyway?"
                warnings={confirming.warnings}
                confirmLabel="Save anyway"
                onConfirm={() => send(confirming.values)}
                onCancel={() => setConfirming(null)}
              />
            )}
            <div className="flex items-center gap-3">
              <Button type="submit">Save as version {(current?.version ?? 0) + 1}</Button>
              <Button variant="ghost" onClick={() => form.reset(toFormValues(current?.settings))}>
                Discard changes
              </Button>
              <span className="text-xs text-slate-500">
                Editing version {current?.version ?? 0}
                {current
                  ? ` (saved ${new Date(current.updatedAt).toLocaleString()} by ${current.updatedBy ?? 'unknown'})`
                  : ' (app defaults)'}
              </span>
            </div>
          </div>
        </Card>
      </fieldset>
      <datalist id="known-task-names">
        {knownTasks.map((t) => (
          <option key={t} value={t} />
        ))}
      </datalist>
      {!canEdit && <Alert tone="info">Changing the configuration needs the admin role.</Alert>}
      {outcome && (
        <Alert tone={outcome.tone}>
          {outcome.text}{' '}
          {outcome.conflict && (
            <button
              type="button"
              className="underline"
              onClick={() => void queryClient.invalidateQueries({ queryKey: trpc.settings.pathKey() })}
            >
              Load the current version
            </button>
          )}
        </Alert>
      )}
    </form>
  );
}
