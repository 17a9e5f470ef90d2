/**
 * The result backend contract. A backend stores task states in Celery's format and lets clients wait for a
 * task to become ready without polling.
 */
import type { ResultMeta } from './meta';

export interface StoreOptions {
  traceback?: string | null;
  parentId?: string | null;
  groupId?: string | null;
  children?: unknown[];
  /** Seconds to keep this result, overriding the backend's `resultExpires` (null: forever). */
  expires?: number | null;
}

/** One finished chord header task (Celery: the request passed to `on_chord_part_return`). */
export interface ChordPart {
  groupId: string;
  taskId: string;
  /** Its place in the header (the `group_index` header); null sorts last, as in Celery. */
  groupIndex: number | null;
  status: string;
  /** The result, or the exception dict, as JSON text. */
  resultJson: string;
}

/** A header task's outcome as counted for its chord. */
export interface ChordEntry {
  taskId: string;
  status: string;
  result: unknown;
}

export interface ResultBackend {
  /**
   * Stores a state. `resultJson` is the result (or exception dict) already encoded as JSON text. A stored
   * SUCCESS is never overwritten, as in Celery. Resolves true when the state was written.
   */
  store(taskId: string, status: string, resultJson: string, options?: StoreOptions): Promise<boolean>;
  /** The stored meta, or null when nothing is stored (PENDING). */
  get(taskId: string): Promise<ResultMeta | null>;
  /** Resolves with the meta once the task is ready; rejects with ResultTimeoutError after `timeoutMs`. */
  waitReady(taskId: string, timeoutMs: number | null): Promise<ResultMeta>;
  /** The stored metas of many tasks at once, in order (null where nothing readable is stored). */
  getMany(taskIds: readonly string[]): Promise<(ResultMeta | null)[]>;
  /**
   * One step of a walk over the ids of every stored result (a monitor's repair after lost events): start and
   * end with cursor '0'; a step may return fewer or more than `count` ids, and an id twice.
   */
  scanIds(cursor: string, count: number): Promise<{ cursor: string; ids: string[] }>;
  /**
   * Counts a finished chord header task, as Celery's backend of the same kind does, so that Lovage and Celery
   * workers can share one chord's header. Resolves with every part in header order when this one completed
   * the chord (its body is then due: send it, then call `chordDone`), else null. Absent: chords are not
   * supported by this backend.
   */
  chordPartReturn?(part: ChordPart): Promise<ChordEntry[] | null>;
  /** Records a chord's header size before its header tasks are sent (Celery: `set_chord_size`). */
  chordStart?(groupId: string, size: number): Promise<void>;
  /** Deletes a completed chord's counting keys, once its body was sent. */
  chordDone?(groupId: string): Promise<void>;
  /**
   * Stores a group's result tuple (`{"result": <tuple>}` as JSON text) where Celery's `GroupResult.restore`
   * reads it (Celery: `save_group`). Absent: groups cannot be saved in this backend.
   */
  saveGroup?(groupId: string, json: string): Promise<void>;
  /** A saved group's stored value (`{"result": <tuple>}`), or null (Celery: `restore_group`). */
  getGroup?(groupId: string): Promise<unknown>;
  /** Deletes a saved group (Celery: `delete_group`). */
  deleteGroup?(groupId: string): Promise<void>;
  /** Deletes the stored state (Celery: AsyncResult.forget). */
  forget(taskId: string): Promise<void>;
  close(): Promise<void>;
}
