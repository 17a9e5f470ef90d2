/**
 * Exports of the task list and the audit log against real Redis and both databases: every row the filter
 * selects (not one page), CSV parsed back or JSON, secrets masked, any signed-in role allowed, and a bad or
 * unknown parameter refused with a 400 naming it.
 */
import { randomUUID } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { download, exportAudit, exportTasks } from '../src/server/export/export';
import { exportAuditQuery, exportTasksQuery } from '../src/server/export/export.schema';
import { exportRoute } from '../src/server/export/route';
import { ev } from './support/events';
import { DB_KINDS, ORIGIN, startHarness, type Harness, type TestUser } from './support/harness';

describe.each(DB_KINDS)('exports (%s)', (kind) => {
  let h: Harness;
  let viewer: TestUser;
  const name = `export.${randomUUID().slice(0, 8)}`;
  const t0 = Date.now() - 60_000;
  const ids = Array.from({ length: 30 }, (_, i) => `exp-${String(i).padStart(2, '0')}-${randomUUID()}`);
  let tasks: (q: Record<string, string>) => Promise<Response>;
  let audit: (q: Record<string, string>) => Promise<Response>;

  beforeAll(async () => {
    h = await startHarness(kind);
    viewer = await h.createUser('viewer');
    // 30 tasks: even ones succeeded, odd ones failed; each has a password among its kwargs.
    await h.services.lovage.taskIndex.apply(
      ids.flatMap((id, i) => {
        const spec = { id, name, at: t0 + i * 100, kwargs: `{'password': 'hunter${i}', 'n': ${i}}` };
        return [
          ev.received(spec, 'w1@host', t0 + i * 100),
          i % 2 === 0
            ? ev.succeeded(id, 'w1@host', t0 + i * 100 + 50)
            : ev.failed(id, 'w1@host', t0 + i * 100 + 50, "ValueError('bad')", 'Traceback…'),
        ];
      }),
    );
    // Written raw, as an entry from before masking existed would be: the export masks it anyway.
    await h.services.prisma.auditEntry.create({
      data: {
        actorId: viewer.id,
        actorEmail: viewer.email,
        action: 'settings.update',
        target: 'version 7',
        before: { brokerUrl: 'redis://:s3cret@redis:6379/0', apiToken: 'tok-123', concurrency: 4 },
        after: { concurrency: 8 },
        reason: 'load',
        outcome: 'ok',
      },
    });
    const cookie = await h.signIn(viewer);
    const call = (route: (req: Request) => Promise<Response>, path: string) => (q: Record<string, string>) =>
      route(new Request(`${ORIGIN}${path}?${new URLSearchParams(q).toString()}`, { headers: { cookie } }));
    const services = () => Promise.resolve(h.services);
    tasks = call(
      exportRoute(
        exportTasksQuery,
        (s, q) => download(exportTasks(s.lovage.taskIndex, q), 'lovage-tasks', q.format),
        services,
      ),
      '/api/export/tasks',
    );
    audit = call(
      exportRoute(
        exportAuditQuery,
        (s, q) => download(exportAudit(s.prisma, q), 'lovage-audit', q.format),
        services,
      ),
      '/api/export/audit',
    );
  });
  afterAll(async () => {
    await h?.close();
  });

  it('streams every task the filter selects as CSV, newest first, with payload secrets masked', async () => {
    const res = await tasks({ format: 'csv', name, state: 'FAILURE' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="lovage-tasks-.*\.csv"$/);
    const text = await res.text();
    expect(text).not.toContain('hunter');
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.id)).toEqual(ids.filter((_, i) => i % 2 === 1).reverse());
    expect(rows[0]).toMatchObject({
      name,
      state: 'FAILURE',
      exception: "ValueError('bad')",
      worker: 'w1@host',
    });
    expect(rows[0]!.kwargs).toContain("'password': '****'");
    expect(new Date(rows[0]!.failed!).getTime()).toBe(t0 + 29 * 100 + 50);
  });

  it('streams JSON, and an empty selection is a header or an empty array', async () => {
    const all = (await (await tasks({ format: 'json', name })).json()) as { id: string; state: string }[];
    expect(all.map((r) => r.id)).toEqual([...ids].reverse());
    expect(JSON.stringify(all)).not.toContain('hunter');
    expect(await (await tasks({ format: 'json', name: 'no.such.task' })).json()).toEqual([]);
    const csv = await (await tasks({ format: 'csv', name: 'no.such.task' })).text();
    expect(csv.trim().split('\n')).toHaveLength(1);
    expect(csv).toMatch(/^id,name,state,/);
  });

  it('exports the audit log with secrets masked, filtered as the page filters', async () => {
    const rows = (await (await audit({ format: 'json', action: 'settings.update' })).json()) as {
      action: string;
      before: Record<string, unknown>;
    }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ action: 'settings.update', actorEmail: viewer.email, reason: 'load' });
    expect(rows[0]!.before).toEqual({
      brokerUrl: 'redis://:****@redis:6379/0',
      apiToken: '****',
      concurrency: 4,
    });
    const csv = parse(await (await audit({ format: 'csv' })).text(), { columns: true }) as Record<
      string,
      string
    >[];
    expect(csv.find((r) => r.action === 'settings.update')?.after).toBe('{"concurrency":8}');
    expect(await (await audit({ format: 'csv', action: 'user.create', actor: 'nobody' })).text()).toMatch(
      /^id,at,actorEmail,action,target,outcome,reason,before,after,detail\n$/,
    );
  });

  it('refuses a bad or unknown parameter naming it, and anyone not signed in', async () => {
    const bad = async (res: Response) => [res.status, ((await res.json()) as { error: string }).error];
    expect(await bad(await tasks({ format: 'xml' }))).toEqual([400, expect.stringContaining('"format"')]);
    expect(await bad(await tasks({ format: 'csv', state: 'DONE' }))).toEqual([
      400,
      expect.stringContaining('"state"'),
    ]);
    expect(await bad(await tasks({ format: 'csv', from: 'yesterday' }))).toEqual([
      400,
      expect.stringContaining('"from"'),
    ]);
    expect(await bad(await tasks({ format: 'csv', page: '2' }))).toEqual([
      400,
      '"page": is not an export parameter',
    ]);
    expect(await bad(await audit({ format: 'csv', action: 'nope' }))).toEqual([
      400,
      expect.stringContaining('"action"'),
    ]);
    const route = exportRoute(
      exportTasksQuery,
      () => new Response('never'),
      () => Promise.resolve(h.services),
    );
    const anonymous = await route(new Request(`${ORIGIN}/api/export/tasks?format=csv`));
    expect(anonymous.status).toBe(401);
  });
});
