/**
 * Remote-control commands as a registry, as Celery's `Panel` with `@inspect_command` (reads the worker's
 * state, changes nothing) and `@control_command` (changes it). Each command answers in the payload shape
 * Celery's own workers reply with (shared/celery-protocol.md §7.2), so `celery inspect`/`celery control`
 * and Flower read a Lovage worker as they read a Celery one.
 */
import type { WorkerControl } from '../types';

export type CommandKind = 'inspect' | 'control';
export type CommandArgs = Record<string, unknown>;

export interface Command {
  readonly kind: CommandKind;
  /** The reply payload; `undefined` sends no reply (`shutdown`, as Celery). A throw replies `{error}`. */
  run(w: WorkerControl, args: CommandArgs): unknown;
}

export const inspectCommand = (run: Command['run']): Command => ({ kind: 'inspect', run });
export const controlCommand = (run: Command['run']): Command => ({ kind: 'control', run });

export const ok = (text: string) => ({ ok: text });
export const nok = (text: string) => ({ error: text });

/** Task ids as sent: one id or a list. */
export function ids(raw: unknown): string[] {
  return (Array.isArray(raw) ? raw : [raw]).filter((x): x is string => typeof x === 'string');
}
