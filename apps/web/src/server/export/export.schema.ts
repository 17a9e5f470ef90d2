import { z } from 'zod';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES } from '../routers/audit/audit-actions';
import { TASK_STATES } from '../routers/tasks/task-states';

const text = z.string().trim().min(1).max(300);
const epochMs = z.coerce.number().int().min(0);
const format = z.enum(['csv', 'json']);

/** `/api/export/tasks?format=&state=&name=&worker=&queue=&from=&to=&id=`: the task list's filters. */
export const exportTasksQuery = z.strictObject({
  format,
  state: z.enum(TASK_STATES).optional(),
  name: text.optional(),
  worker: text.optional(),
  queue: text.optional(),
  from: epochMs.optional(),
  to: epochMs.optional(),
  id: text.optional(),
});
export type ExportTasksQuery = z.output<typeof exportTasksQuery>;

/** `/api/export/audit?format=&actor=&action=&outcome=&from=&to=`: the audit log's filters. */
export const exportAuditQuery = z.strictObject({
  format,
  actor: z.string().trim().max(200).optional(),
  action: z.enum(AUDIT_ACTIONS).optional(),
  outcome: z.enum(AUDIT_OUTCOMES).optional(),
  from: epochMs.optional(),
  to: epochMs.optional(),
});
export type ExportAuditQuery = z.output<typeof exportAuditQuery>;
