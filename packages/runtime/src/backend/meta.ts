/**
 * Celery's result meta (shared/celery-protocol.md §4): the JSON stored at `celery-task-meta-<id>`. Exceptions
 * in it are `protocol/exceptions.ts`'s dicts.
 */
import { toNaiveUtcIso } from '../protocol/time';
import { isReady } from '../task/states';

export interface ResultMeta {
  status: string;
  result: unknown;
  traceback: string | null;
  children: unknown[];
  date_done: string | null;
  task_id: string;
  group_id?: string | null;
  parent_id?: string | null;
}

export interface MetaInit {
  taskId: string;
  status: string;
  /** The result as JSON text (already encoded and checked). */
  resultJson: string;
  traceback?: string | null;
  parentId?: string | null;
  groupId?: string | null;
  children?: unknown[];
  now?: Date;
}

/** Builds the stored JSON text without re-encoding the result. Key order and separators follow Celery. */
export function encodeMeta(init: MetaInit): string {
  const dateDone = isReady(init.status) ? JSON.stringify(toNaiveUtcIso(init.now ?? new Date())) : 'null';
  let out =
    `{"status": ${JSON.stringify(init.status)}, "result": ${init.resultJson}, ` +
    `"traceback": ${JSON.stringify(init.traceback ?? null)}, "children": ${JSON.stringify(init.children ?? [])}, ` +
    `"date_done": ${dateDone}, "task_id": ${JSON.stringify(init.taskId)}`;
  if (init.groupId) out += `, "group_id": ${JSON.stringify(init.groupId)}`;
  if (init.parentId) out += `, "parent_id": ${JSON.stringify(init.parentId)}`;
  return `${out}}`;
}

export function decodeMeta(text: string): ResultMeta | null {
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v === 'object' && v !== null && typeof (v as ResultMeta).status === 'string')
      return v as ResultMeta;
  } catch {
    // A value we cannot read is treated as absent (PENDING) rather than crashing a waiting client.
  }
  return null;
}
