import 'server-only';
import type { Prisma, PrismaClient } from '../db';
import type { AuditAction, AuditOutcome } from '../routers/audit/audit-actions';
import { maskSecrets } from '../presenters/mask';

export interface Actor {
  id: string;
  email: string;
}

export interface AuditRecord {
  actor: Actor | null;
  action: AuditAction;
  target?: string | null;
  before?: unknown;
  after?: unknown;
  reason?: string | null;
  outcome: AuditOutcome;
  /** What happened: an error message, worker replies. */
  detail?: unknown;
}

type Db = Pick<PrismaClient, 'auditEntry'> | Prisma.TransactionClient;

function json(value: unknown): Prisma.InputJsonValue | undefined {
  if (value === undefined || value === null) return undefined;
  return JSON.parse(JSON.stringify(maskSecrets(value))) as Prisma.InputJsonValue;
}

/**
 * Appends one entry to the audit log, secrets masked. The log is append-only: this module has no update
 * or delete, and the database refuses both (a trigger), whatever the client.
 */
export async function recordAudit(db: Db, entry: AuditRecord): Promise<{ id: string }> {
  const row = await db.auditEntry.create({
    data: {
      actorId: entry.actor?.id ?? null,
      actorEmail: entry.actor?.email ?? null,
      action: entry.action,
      target: entry.target ?? null,
      before: json(entry.before),
      after: json(entry.after),
      reason: entry.reason?.trim() || null,
      outcome: entry.outcome,
      detail: json(entry.detail),
    },
    select: { id: true },
  });
  return { id: row.id.toString() };
}
