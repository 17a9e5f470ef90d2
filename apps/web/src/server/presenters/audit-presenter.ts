import 'server-only';
import type { AuditEntry } from '../db';

/** JSON as it crosses the wire. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface AuditEntryView {
  id: string;
  at: string;
  actorEmail: string | null;
  action: string;
  target: string | null;
  before: Json;
  after: Json;
  reason: string | null;
  outcome: string;
  detail: Json;
}

/** An audit row as the client sees it (ids as strings, times ISO). Secrets were masked when it was written. */
export function presentAuditEntry(row: AuditEntry): AuditEntryView {
  return {
    id: row.id.toString(),
    at: row.at.toISOString(),
    actorEmail: row.actorEmail,
    action: row.action,
    target: row.target,
    before: (row.before ?? null) as Json,
    after: (row.after ?? null) as Json,
    reason: row.reason,
    outcome: row.outcome,
    detail: (row.detail ?? null) as Json,
  };
}
