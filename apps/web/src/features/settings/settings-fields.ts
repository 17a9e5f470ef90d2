import type { SettingKey, WorkerSettings } from '@lovage/runtime/settings';

export type NumberKey =
  | 'concurrency'
  | 'prefetchMultiplier'
  | 'timeLimit'
  | 'softTimeLimit'
  | 'visibilityTimeout'
  | 'maxRetries'
  | 'defaultRetryDelay'
  | 'resultExpires'
  | 'maxTasksPerChild'
  | 'maxMemoryPerChild';

export interface NumberField {
  key: NumberKey;
  label: string;
  hint: string;
  /** Label of the "none" checkbox of a nullable setting (null: no limit, forever…). */
  none?: string;
  step?: string;
}

/** The numeric settings, in form order, with what they mean and the Celery names they mirror. */
export const NUMBER_FIELDS: NumberField[] = [
  { key: 'concurrency', label: 'Concurrency', hint: 'Tasks run at once per worker (Celery: --concurrency).' },
  {
    key: 'prefetchMultiplier',
    label: 'Prefetch multiplier',
    hint: 'Messages reserved per unit of concurrency (worker_prefetch_multiplier).',
  },
  {
    key: 'timeLimit',
    label: 'Hard time limit (s)',
    hint: 'Default for tasks without their own (task_time_limit).',
    none: 'No limit',
    step: 'any',
  },
  {
    key: 'softTimeLimit',
    label: 'Soft time limit (s)',
    hint: 'Aborts the task’s signal first; below the hard limit (task_soft_time_limit).',
    none: 'No limit',
    step: 'any',
  },
  {
    key: 'visibilityTimeout',
    label: 'Visibility timeout (s)',
    hint: 'A dead worker’s tasks return to the queue after this (visibility_timeout).',
    step: 'any',
  },
  {
    key: 'maxRetries',
    label: 'Max retries',
    hint: 'Default for tasks that retry (max_retries).',
    none: 'Retry forever',
  },
  {
    key: 'defaultRetryDelay',
    label: 'Default retry delay (s)',
    hint: 'Wait before a retry that names no countdown (default_retry_delay).',
    step: 'any',
  },
  {
    key: 'resultExpires',
    label: 'Result expiry (s)',
    hint: 'How long results are kept (result_expires).',
    none: 'Keep forever',
    step: 'any',
  },
  {
    key: 'maxTasksPerChild',
    label: 'Max tasks per child',
    hint: 'A pool process is replaced after this many tasks (worker_max_tasks_per_child).',
    none: 'Unlimited',
  },
  {
    key: 'maxMemoryPerChild',
    label: 'Max memory per child (MB)',
    hint: 'A pool process is replaced above this resident memory (worker_max_memory_per_child).',
    none: 'Unlimited',
  },
];

export interface LimitRow {
  task: string;
  rateLimit: string;
  timeLimit: string;
  softTimeLimit: string;
}

export interface SettingsFormValues {
  pool: string;
  acksLate: '' | 'true' | 'false';
  num: Record<NumberKey, string>;
  none: Record<NumberKey, boolean>;
  rows: LimitRow[];
  reason: string;
}

const blankNums = () =>
  Object.fromEntries(NUMBER_FIELDS.map((f) => [f.key, ''])) as Record<NumberKey, string>;
const blankNone = () =>
  Object.fromEntries(NUMBER_FIELDS.map((f) => [f.key, false])) as Record<NumberKey, boolean>;

/** Stored settings -> form values (absent: empty, meaning the app's default). */
export function toFormValues(s: WorkerSettings | undefined): SettingsFormValues {
  const num = blankNums();
  const none = blankNone();
  for (const f of NUMBER_FIELDS) {
    const v = s?.[f.key];
    if (v === null) none[f.key] = true;
    else if (typeof v === 'number') num[f.key] = String(v);
  }
  const rows = Object.entries(s?.taskLimits ?? {}).map(([task, l]) => ({
    task,
    rateLimit: l.rateLimit ?? '',
    timeLimit: l.timeLimit != null ? String(l.timeLimit) : '',
    softTimeLimit: l.softTimeLimit != null ? String(l.softTimeLimit) : '',
  }));
  return {
    pool: s?.pool ?? '',
    acksLate: s?.acksLate === undefined ? '' : s.acksLate ? 'true' : 'false',
    num,
    none,
    rows,
    reason: '',
  };
}

const toNumber = (text: string): number | undefined => (text.trim() === '' ? undefined : Number(text));

/**
 * Form values -> the settings object the one schema validates. Text is not checked here: "abc" becomes
 * NaN, and the schema's message is what the operator sees.
 */
export function toSettings(v: SettingsFormValues): {
  settings: Record<string, unknown>;
  rowOf: Map<string, number>;
} {
  const settings: Record<string, unknown> = {};
  if (v.pool) settings.pool = v.pool;
  if (v.acksLate) settings.acksLate = v.acksLate === 'true';
  for (const f of NUMBER_FIELDS) {
    if (f.none && v.none[f.key]) settings[f.key] = null;
    else {
      const n = toNumber(v.num[f.key]);
      if (n !== undefined) settings[f.key] = n;
    }
  }
  const rowOf = new Map<string, number>();
  const limits: Record<string, Record<string, unknown>> = {};
  v.rows.forEach((row, i) => {
    const task = row.task.trim();
    const entry: Record<string, unknown> = {};
    if (row.rateLimit.trim()) entry.rateLimit = row.rateLimit.trim();
    const hard = toNumber(row.timeLimit);
    const soft = toNumber(row.softTimeLimit);
    if (hard !== undefined) entry.timeLimit = hard;
    if (soft !== undefined) entry.softTimeLimit = soft;
    if (!task && Object.keys(entry).length === 0) return;
    rowOf.set(task, i);
    limits[task] = entry;
  });
  if (v.rows.length > 0 || rowOf.size > 0) settings.taskLimits = limits;
  return { settings, rowOf };
}

/** A schema issue's path on the settings object -> the form field that shows it. */
export function formPath(path: readonly (string | number)[], rowOf: Map<string, number>): string {
  const [head, task, field] = path.map(String);
  if (head === 'taskLimits' && task !== undefined) {
    const i = rowOf.get(task);
    if (i !== undefined) return `rows.${i}.${field ?? 'task'}`;
  }
  if (head && NUMBER_FIELDS.some((f) => f.key === head)) return `num.${head}`;
  return head ?? 'root';
}

export type { SettingKey };
