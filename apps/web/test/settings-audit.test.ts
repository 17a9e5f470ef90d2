import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SettingsStore } from '@lovage/runtime';
import { DB_KINDS, REDIS_URL, startHarness, type Harness, type TestUser } from './support/harness';
import { rejects } from './support/rejects';

/** Tables and columns as schema.prisma declares them: name -> { column -> nullable }. */
function schemaColumns(): Map<string, Map<string, boolean>> {
  const text = readFileSync(new URL('../../../prisma/schema.prisma', import.meta.url), 'utf8');
  const tables = new Map<string, Map<string, boolean>>();
  for (const [, body] of text.matchAll(/^model \w+ \{\n([\s\S]*?)^\}/gm)) {
    const table = /@@map\("([^"]+)"\)/.exec(body!)![1]!;
    const cols = new Map<string, boolean>();
    for (const line of body!.split('\n')) {
      const m = /^\s+(\w+)\s+(\w+)(\?|\[\])?(.*)$/.exec(line);
      if (!m || m[3] === '[]' || /@relation/.test(m[4]!) || /^[A-Z]/.test(m[2]!) === false) continue;
      if (!['String', 'Boolean', 'Int', 'BigInt', 'DateTime', 'Json'].includes(m[2]!)) continue;
      cols.set(/@map\("([^"]+)"\)/.exec(m[4]!)?.[1] ?? m[1]!, m[3] === '?');
    }
    tables.set(table, cols);
  }
  return tables;
}

describe.each(DB_KINDS)('settings, users and the audit log (%s)', (kind) => {
  let h: Harness;
  let admin: TestUser;
  let operator: TestUser;
  let viewer: TestUser;

  beforeAll(async () => {
    h = await startHarness(kind);
    [admin, operator, viewer] = await Promise.all([
      h.createUser('admin'),
      h.createUser('operator'),
      h.createUser('viewer'),
    ]);
  });
  afterAll(() => h?.close());

  it('migrations create exactly the tables and columns of schema.prisma', async () => {
    const rows = await h.services.prisma.$queryRaw<
      { table_name: string; column_name: string; is_nullable: string }[]
    >`
      SELECT table_name, column_name, is_nullable FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name <> '_prisma_migrations'`;
    const actual = new Map<string, Map<string, boolean>>();
    for (const r of rows) {
      if (!actual.has(r.table_name)) actual.set(r.table_name, new Map());
      actual.get(r.table_name)!.set(r.column_name, r.is_nullable === 'YES');
    }
    const expected = schemaColumns();
    expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [table, cols] of expected) {
      expect(Object.fromEntries(actual.get(table)!), table).toEqual(Object.fromEntries(cols));
    }
    const migrations = await h.services.prisma.$queryRaw<
      { migration_name: string; finished_at: Date | null }[]
    >`
      SELECT migration_name, finished_at FROM "_prisma_migrations"`;
    expect(migrations.every((m) => m.finished_at !== null)).toBe(true);
  });

  it('an admin saves settings as a new version that a worker starting later reads', async () => {
    const c = await h.callerFor(admin);
    const res = await c.settings.update({
      expectedVersion: 0,
      settings: {
        concurrency: 8,
        pool: 'threads',
        acksLate: true,
        taskLimits: { 'demo.add': { rateLimit: '10/s' } },
      },
      reason: 'more throughput',
    });
    expect(res.version).toBe(1);
    expect(res.liveChanged).toEqual(['concurrency', 'taskLimits']);
    expect(res.restartChanged).toEqual(['acksLate', 'pool']);
    expect(res.message).toMatch(/No running worker answered/);
    // A worker reads the settings from Redis, not from the console's database.
    const store = new SettingsStore(REDIS_URL, { prefix: h.prefix });
    try {
      expect((await store.current())?.settings).toEqual({
        concurrency: 8,
        pool: 'threads',
        acksLate: true,
        taskLimits: { 'demo.add': { rateLimit: '10/s' } },
      });
    } finally {
      await store.close();
    }
    const versions = await c.settings.versions({});
    expect(versions.items.map((v) => [v.version, v.createdBy, v.reason])).toEqual([
      [1, admin.email, 'more throughput'],
    ]);
    const entry = await h.services.prisma.auditEntry.findFirst({ where: { action: 'settings.update' } });
    expect(entry).toMatchObject({
      actorEmail: admin.email,
      outcome: 'ok',
      reason: 'more throughput',
      before: null,
    });
    expect(entry?.after).toMatchObject({ concurrency: 8 });
  });

  it('a bad value gets a field error and changes nothing', async () => {
    const c = await h.callerFor(admin);
    const auditBefore = await h.services.prisma.auditEntry.count();
    const err = await rejects(
      c.settings.update({
        expectedVersion: 1,
        settings: { concurrency: 0, timeLimit: 10, softTimeLimit: 20 },
      }),
      'BAD_REQUEST',
    );
    const issues = (err.cause as unknown as { issues: { path: PropertyKey[]; message: string }[] }).issues;
    expect(issues.map((i) => [i.path.join('.'), i.message])).toEqual(
      expect.arrayContaining([['settings.concurrency', 'must be at least 1']]),
    );
    await rejects(
      c.settings.update({
        expectedVersion: 1,
        settings: { taskLimits: { 'demo.add': { rateLimit: 'fast' } } },
      }),
      'BAD_REQUEST',
    );
    expect((await h.services.lovage.settings.current())?.version).toBe(1);
    expect(await h.services.prisma.settingsVersion.count()).toBe(1);
    expect(await h.services.prisma.auditEntry.count()).toBe(auditBefore);
  });

  it('refuses a save based on an older version (conflict), audited as an error', async () => {
    const c = await h.callerFor(admin);
    const err = await rejects(
      c.settings.update({ expectedVersion: 0, settings: { concurrency: 2 } }),
      'CONFLICT',
    );
    expect(err.message).toMatch(/version/);
    expect((await h.services.lovage.settings.current())?.settings.concurrency).toBe(8);
    const last = await h.services.prisma.auditEntry.findFirst({
      where: { action: 'settings.update' },
      orderBy: { id: 'desc' },
    });
    expect(last?.outcome).toBe('error');
  });

  it('an admin manages users; the last admin keeps the role', async () => {
    const c = await h.callerFor(admin);
    const created = await c.users.create({
      email: 'New.Person@example.test',
      name: 'New',
      role: 'viewer',
      password: 'long-enough-pw',
    });
    expect(created.email).toBe('new.person@example.test');
    await rejects(
      c.users.create({
        email: 'new.person@example.test',
        name: 'Dup',
        role: 'viewer',
        password: 'long-enough-pw',
      }),
      'CONFLICT',
    );
    const bad = await rejects(
      c.users.create({ email: 'not-an-email', name: '', role: 'viewer', password: 'short' }),
      'BAD_REQUEST',
    );
    expect(bad.cause).toBeDefined();
    await c.users.updateRole({ userId: created.id, role: 'operator' });
    await c.users.setPassword({ userId: created.id, password: 'another-long-pw' });
    const signIn = await h.signInResponse('new.person@example.test', 'another-long-pw', { ip: '10.20.0.1' });
    expect(signIn.status).toBe(200);
    const others = (await c.users.find()).filter((u) => u.role === 'admin' && u.id !== admin.id);
    for (const o of others) await c.users.updateRole({ userId: o.id, role: 'viewer' });
    await rejects(c.users.updateRole({ userId: admin.id, role: 'viewer' }), 'PRECONDITION_FAILED');
    const actions = (await c.audit.find({ actor: admin.email, perPage: 100 })).items.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['user.create', 'user.role', 'user.password']));
  });

  it('filters and pages the audit log', async () => {
    const c = await h.callerFor(viewer);
    await (
      await h.callerFor(operator)
    ).tasks.revoke({ id: 'audit-test-task', terminate: false, reason: 'why not' });
    const byActor = await c.audit.find({ actor: operator.email.toUpperCase() });
    expect(byActor.items.map((e) => [e.action, e.target, e.reason, e.outcome])).toEqual([
      ['task.revoke', 'audit-test-task', 'why not', 'ok'],
    ]);
    const byAction = await c.audit.find({ action: 'settings.update' });
    expect(byAction.total).toBe(2);
    const future = await c.audit.find({ from: Date.now() + 60_000 });
    expect(future.total).toBe(0);
    const all = await c.audit.find({ perPage: 2 });
    const page2 = await c.audit.find({ perPage: 2, page: 2 });
    expect(all.total).toBeGreaterThan(4);
    expect(all.items).toHaveLength(2);
    expect(page2.items[0]!.id).not.toBe(all.items[0]!.id);
    expect(await c.audit.actors()).toEqual(expect.arrayContaining([admin.email, operator.email]));
  });

  it('keeps the audit log append-only and secrets masked', async () => {
    const { prisma } = h.services;
    const { recordAudit } = await import('../src/server/services/audit');
    const { id } = await recordAudit(prisma, {
      actor: null,
      action: 'settings.update',
      before: { broker: 'redis://user:s3cret@redis:6379/0', password: 'p' },
      outcome: 'ok',
    });
    const row = await prisma.auditEntry.findUniqueOrThrow({ where: { id: BigInt(id) } });
    expect(JSON.stringify(row.before)).not.toContain('s3cret');
    expect(row.before).toEqual({ broker: 'redis://user:****@redis:6379/0', password: '****' });
    await expect(
      prisma.auditEntry.update({ where: { id: BigInt(id) }, data: { outcome: 'error' } }),
    ).rejects.toThrow(/append-only/);
    await expect(prisma.auditEntry.deleteMany({})).rejects.toThrow(/append-only/);
    await expect(prisma.$executeRawUnsafe('TRUNCATE audit_log')).rejects.toThrow(/append-only/);
    expect(await prisma.auditEntry.count()).toBeGreaterThan(0);
  });

  it('an identical resubmission on the same version answers with the saved version, not a conflict', async () => {
    const c = await h.callerFor(admin);
    const { prisma, lovage } = h.services;
    const base = (await lovage.settings.current())!.version;
    const input = { expectedVersion: base, settings: { concurrency: 3, pool: 'prefork' as const } };
    const first = await c.settings.update({ ...input, reason: 'once' });
    const versions = await prisma.settingsVersion.count();
    const audits = await prisma.auditEntry.count({ where: { action: 'settings.update' } });

    // The same content sent again on the same base (keys in another order): nothing new is saved or audited.
    const again = await c.settings.update({
      expectedVersion: base,
      settings: { pool: 'prefork', concurrency: 3 },
      reason: 'once',
    });
    expect(again.version).toBe(first.version);
    expect(again.message).toBe(
      `Saved as version ${first.version} by ${admin.email}; this identical save changed nothing.`,
    );
    expect(await prisma.settingsVersion.count()).toBe(versions);
    expect(await prisma.auditEntry.count({ where: { action: 'settings.update' } })).toBe(audits);

    // Two identical requests at once (a double submit under load): both succeed, one version is made.
    const next = { expectedVersion: first.version, settings: { concurrency: 4 } };
    const pair = await Promise.all([c.settings.update(next), c.settings.update(next)]);
    expect(pair.map((r) => r.version)).toEqual([first.version + 1, first.version + 1]);
    expect((await lovage.settings.current())?.version).toBe(first.version + 1);
    expect(await prisma.settingsVersion.count()).toBe(versions + 1);

    // Other content on an old base is still a conflict.
    await rejects(
      c.settings.update({ expectedVersion: first.version, settings: { concurrency: 5 } }),
      'CONFLICT',
    );
    await rejects(c.settings.update({ ...input, settings: { concurrency: 3 } }), 'CONFLICT');
    expect((await lovage.settings.current())?.settings).toEqual({ concurrency: 4 });
  });
});
