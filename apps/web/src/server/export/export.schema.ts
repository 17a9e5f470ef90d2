import { z } from 'zod';
import { findAuditInput } from '../routers/audit/find-audit.schema';
import { findTasksInput } from '../routers/tasks/find-tasks.schema';

/** Query strings carry numbers as text. */
const epochMs = z.coerce.number().int().min(0);
const format = z.enum(['csv', 'json']);

/** `/api/export/tasks?format=&state=&name=&worker=&queue=&from=&to=&id=`: the task list's filters. */
export const exportTasksQuery = findTasksInput
  .omit({ page: true, perPage: true })
  .extend({ format, from: epochMs.optional(), to: epochMs.optional() })
  .strict();
export type ExportTasksQuery = z.output<typeof exportTasksQuery>;

/** `/api/export/audit?format=&actor=&action=&outcome=&from=&to=`: the audit log's filters. */
export const exportAuditQuery = findAuditInput
  .omit({ page: true, perPage: true })
  .extend({ format, from: epochMs.optional(), to: epochMs.optional() })
  .strict();
export type ExportAuditQuery = z.output<typeof exportAuditQuery>;
