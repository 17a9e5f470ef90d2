import 'server-only';
/**
 * Exports of the task list and the audit log, as CSV (csv-stringify) or a JSON array, streamed in batches
 * so that a million rows never sit in memory and Redis is held no longer than for one list page. Secrets
 * are masked as on the pages (`maskSecretsInText` on task payloads, `maskSecrets` on audit values).
 */
import type { TaskIndex, TaskRecord } from '@lovage/runtime';
import { stringify } from 'csv-stringify/sync';
import type { Prisma, PrismaClient } from '../db';
import { maskSecrets, maskSecretsInText } from '../presenters/mask';
import { presentAuditEntry } from '../presenters/audit-presenter';
import { auditWhere } from '../routers/audit/find-audit';
import type { ExportAuditQuery, ExportTasksQuery } from './export.schema';

const BATCH = 500;

type Row = Record<string, string | number | null>;

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

/** A task as an export row: the list's fields and the payloads, masked; times ISO 8601. */
function taskRow(r: TaskRecord) {
  return {
    id: r.id,
    name: r.name,
    state: r.state,
    queue: r.queue,
    worker: r.worker,
    retries: r.retries,
    args: maskSecretsInText(r.args),
    kwargs: maskSecretsInText(r.kwargs),
    result: maskSecretsInText(r.result),
    exception: maskSecretsInText(r.exception),
    runtime: r.runtime,
    sent: iso(r.timestamps.sent),
    received: iso(r.timestamps.received),
    started: iso(r.timestamps.started),
    succeeded: iso(r.timestamps.succeeded),
    failed: iso(r.timestamps.failed),
    updated: iso(r.updatedAt),
    parent_id: r.parentId,
    root_id: r.rootId,
    group_id: r.group,
  };
}

const TASK_COLUMNS: (keyof ReturnType<typeof taskRow> & string)[] = [
  'id',
  'name',
  'state',
  'queue',
  'worker',
  'retries',
  'args',
  'kwargs',
  'result',
  'exception',
  'runtime',
  'sent',
  'received',
  'started',
  'succeeded',
  'failed',
  'updated',
  'parent_id',
  'root_id',
  'group_id',
];

/** Rows in batches as CSV (one header line first, even for no rows) or as one JSON array. */
async function* encode(
  format: 'csv' | 'json',
  columns: string[],
  batches: AsyncIterable<Row[]>,
): AsyncGenerator<string> {
  let first = true;
  if (format === 'csv') yield stringify([columns]);
  else yield '[';
  for await (const rows of batches) {
    if (rows.length === 0) continue;
    if (format === 'csv') {
      yield stringify(rows, { columns, cast: { number: String } });
    } else {
      const body = rows.map((r) => JSON.stringify(r)).join(',\n');
      yield first ? `\n${body}` : `,\n${body}`;
    }
    first = false;
  }
  if (format === 'json') yield first ? ']\n' : '\n]\n';
}

/** Every task the filter selects, newest first (`TaskIndex.scan`). */
export function exportTasks(index: TaskIndex, query: ExportTasksQuery): AsyncGenerator<string> {
  const { format, ...filter } = query;
  async function* batches() {
    for await (const records of index.scan(filter, BATCH)) yield records.map(taskRow) as Row[];
  }
  return encode(format, TASK_COLUMNS, batches());
}

const AUDIT_COLUMNS = [
  'id',
  'at',
  'actorEmail',
  'action',
  'target',
  'outcome',
  'reason',
  'before',
  'after',
  'detail',
];

/** Every audit entry the filter selects, newest first, read in keyset pages (no OFFSET over the log). */
export function exportAudit(prisma: PrismaClient, query: ExportAuditQuery): AsyncGenerator<string> {
  const { format, ...filter } = query;
  const where = auditWhere(filter);
  async function* batches() {
    let before: bigint | null = null;
    for (;;) {
      const page: Prisma.AuditEntryWhereInput =
        before === null ? where : { AND: [where, { id: { lt: before } }] };
      const rows = await prisma.auditEntry.findMany({ where: page, orderBy: { id: 'desc' }, take: BATCH });
      if (rows.length === 0) return;
      before = rows.at(-1)!.id;
      yield rows.map((row) => {
        const e = maskSecrets(presentAuditEntry(row));
        // Nested values as JSON text in CSV; the JSON export keeps them as they are.
        const json = (v: unknown) => (format === 'csv' ? JSON.stringify(v) : v) as string;
        return { ...e, before: json(e.before), after: json(e.after), detail: json(e.detail) };
      });
      if (rows.length < BATCH) return;
    }
  }
  return encode(format, AUDIT_COLUMNS, batches());
}

/**
 * A streamed download of `chunks`, pulled as the client reads (back-pressure), ended if it disconnects;
 * named `<name>-<time>.<format>`.
 */
export function download(chunks: AsyncGenerator<string>, name: string, format: 'csv' | 'json'): Response {
  const filename = `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await chunks.next();
      if (done) controller.close();
      else controller.enqueue(encoder.encode(value));
    },
    async cancel() {
      await chunks.return(undefined);
    },
  });
  return new Response(stream, {
    headers: {
      'content-type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="${filename}.${format}"`,
      'cache-control': 'no-store',
    },
  });
}
