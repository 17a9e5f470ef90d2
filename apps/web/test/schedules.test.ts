/**
 * The Schedules page's procedures against a real worker and a real beat on the harness's prefix: the
 * code-defined entry the beat published, a console-defined one an admin creates (run by the running beat
 * within seconds, its last run's state read back), operators enabling, disabling and running now, admins
 * editing and deleting, each audited with before and after; roles refused; bad schedules refused with the
 * field named and nothing changed.
 */
import { randomUUID } from 'node:crypto';
import { Beat, createApp, Worker, type App } from '@lovage/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TRPCError } from '@trpc/server';
import type { ScheduleFormValues } from '../src/server/routers/schedules/schedule.schema';
import { describeIssues } from '../src/trpc/zod-messages';
import {
  BROKER_URL,
  DB_KINDS,
  REDIS_URL,
  silentLogger,
  startHarness,
  type Harness,
  type TestUser,
} from './support/harness';
import { rejects } from './support/rejects';
import { until } from './support/until';

describe.each(DB_KINDS)('schedules (%s)', (kind) => {
  let h: Harness;
  let admin: TestUser;
  let operator: TestUser;
  let viewer: TestUser;
  let app: App;
  let worker: Worker;
  let beat: Beat;
  const queue = `sched-${randomUUID()}`;
  const name = `every-second-${randomUUID().slice(0, 8)}`;
  const form = (over: Partial<ScheduleFormValues> = {}): ScheduleFormValues => ({
    name,
    task: 'sched.ping',
    kind: 'interval',
    interval: '1',
    cron: '',
    timezone: 'UTC',
    args: '[2, 3]',
    kwargs: '{}',
    // None: beat's app routes it (its default queue); run now must do the same.
    queue: '',
    reason: 'nightly report check',
    ...over,
  });
  /** The refusal's field issues (what the form shows under each field) and its sentence, as the page says it. */
  const refusal = (err: TRPCError) => {
    const issues = (err.cause as unknown as { issues: { path: string[]; message: string }[] }).issues;
    return { fields: issues.map((i) => i.path[0]), sentence: describeIssues(issues) };
  };
  /** The audit entries of changes made (refusals inside an action are audited too, as errors). */
  const audits = (target: string) =>
    h.services.prisma.auditEntry.findMany({ where: { target, outcome: 'ok' }, orderBy: { at: 'asc' } });

  beforeAll(async () => {
    h = await startHarness(kind);
    [admin, operator, viewer] = await Promise.all([
      h.createUser('admin'),
      h.createUser('operator'),
      h.createUser('viewer'),
    ]);
    // As a worker process with `-B` would build it: the code-defined entry, the task, results stored.
    app = createApp({
      broker: BROKER_URL,
      backend: REDIS_URL,
      state: REDIS_URL,
      defaultQueue: queue,
      brokerTransportOptions: { globalKeyprefix: h.prefix },
      timezone: 'Europe/Berlin',
      beatSchedule: { 'nightly-report': { task: 'sched.ping', schedule: '30 4 * * 1-5', args: [0, 0] } },
      logger: silentLogger,
    });
    app.task('sched.ping', (_ctx, a: number, b: number) => a + b);
    worker = new Worker(app, {
      queues: [queue],
      concurrency: 2,
      hostname: `w-${randomUUID().slice(0, 8)}@test`,
      logger: silentLogger,
    });
    await worker.start();
    beat = new Beat(app, { leaseTtl: 3, logger: silentLogger });
    await beat.start();
  });
  afterAll(async () => {
    await beat?.stop();
    await worker?.stop();
    await app?.close();
    await h?.close();
  });

  it('a viewer sees the code-defined schedule in plain words with its timezone and next run', async () => {
    const c = await h.callerFor(viewer);
    const { items } = await c.schedules.find();
    expect(items).toHaveLength(1);
    const [code] = items;
    expect(code).toMatchObject({
      name: 'nightly-report',
      source: 'code',
      raw: '30 4 * * 1-5',
      words: 'At 04:30, Monday through Friday',
      enabled: true,
      last: null,
      definition: { task: 'sched.ping', timezone: 'Europe/Berlin', args: [0, 0] },
    });
    expect(code!.next).toBeGreaterThan(Date.now());
  });

  it('refuses bad schedules with the field named, changing nothing', async () => {
    const c = await h.callerFor(admin);
    const cases: [Partial<ScheduleFormValues>, string, RegExp][] = [
      [
        { kind: 'cron', cron: '0 30 4 * * 1' },
        'cron',
        /^Cron is not valid: a cron expression has 5 fields.*got 6/,
      ],
      [{ interval: '-5' }, 'interval', /^Interval must be more than 0 seconds$/],
      [{ args: '[1, 2' }, 'args', /^Args must be a JSON list/],
      [{ kwargs: '[1]' }, 'kwargs', /^Kwargs must be a JSON object/],
      [{ timezone: 'Mars/Olympus' }, 'timezone', /^Timezone is not valid: unknown timezone/],
      [{ name: 'has spaces' }, 'name', /^Name must hold only letters, digits/],
    ];
    for (const [over, field, message] of cases) {
      const err = await rejects(c.schedules.create(form(over)), 'BAD_REQUEST');
      expect(refusal(err).fields, field).toEqual([field]);
      expect(refusal(err).sentence, field).toMatch(message);
    }
    // A task no worker registered and none ran: named on the task field.
    const unknown = refusal(await rejects(c.schedules.create(form({ task: 'sched.pnig' })), 'BAD_REQUEST'));
    expect(unknown.fields).toEqual(['task']);
    expect(unknown.sentence).toMatch(
      /^Task is unknown: no running worker registered sched\.pnig.*known: sched\.ping/,
    );
    // A code entry's name.
    const clash = refusal(await rejects(c.schedules.create(form({ name: 'nightly-report' })), 'BAD_REQUEST'));
    expect(clash).toEqual({
      fields: ['name'],
      sentence: expect.stringMatching(/^Name is taken by a code-defined/),
    });
    expect(Object.keys(await app.state.beat.definitions())).toEqual(['nightly-report']);
    // Only the unknown task got as far as the action: audited as refused, with what the admin read.
    const refused = await h.services.prisma.auditEntry.findMany({ where: { target: name } });
    expect(refused).toMatchObject([{ action: 'schedule.create', outcome: 'error', after: null }]);
    expect(refused[0]!.detail).toMatchObject({
      error: expect.stringMatching(/no running worker registered/),
    });
  });

  it('roles: viewers read, operators enable, disable and run, admins define; refusals change nothing', async () => {
    const v = await h.callerFor(viewer);
    const o = await h.callerFor(operator);
    await rejects(v.schedules.disable({ name: 'nightly-report' }), 'FORBIDDEN');
    await rejects(v.schedules.run({ name: 'nightly-report' }), 'FORBIDDEN');
    await rejects(o.schedules.create(form()), 'FORBIDDEN');
    await rejects(o.schedules.update(form({ name: 'nightly-report' })), 'FORBIDDEN');
    await rejects(o.schedules.delete({ name: 'nightly-report' }), 'FORBIDDEN');
    expect(await app.state.beat.disabled()).toEqual([]);
    expect(await app.state.beat.history('nightly-report')).toEqual([]);
    expect(Object.keys(await app.state.beat.definitions())).toEqual(['nightly-report']);
  });

  it('an admin creates a 1-second schedule: the running beat runs it, its last run succeeded; audited', async () => {
    const c = await h.callerFor(admin);
    const created = await c.schedules.create(form());
    expect(created.message).toMatch(new RegExp(`^Created ${name}: every second\\.`));
    const ran = await until(
      'a run of the console schedule that succeeded',
      async () => {
        const s = (await c.schedules.find()).items.find((i) => i.name === name);
        return s?.last?.state === 'SUCCESS' ? s : undefined;
      },
      15_000,
    );
    expect(ran).toMatchObject({ source: 'console', words: 'Every second', updatedBy: admin.email });
    expect(ran.last).toMatchObject({ by: 'beat', missed: 0 });
    const { runs } = await c.schedules.get({ name });
    expect(runs[0]).toMatchObject({ taskId: ran.last!.taskId, by: 'beat' });
    expect(await app.asyncResult(ran.last!.taskId).get({ timeout: 5 })).toBe(5);
    const [entry] = await audits(name);
    expect(entry).toMatchObject({
      action: 'schedule.create',
      outcome: 'ok',
      actorEmail: admin.email,
      reason: 'nightly report check',
      before: null,
      after: { source: 'console', enabled: true, task: 'sched.ping', schedule: 1, args: [2, 3] },
    });
  });

  it('an operator disables it (no more runs), runs it now (in its history as theirs), enables it', async () => {
    const o = await h.callerFor(operator);
    await o.schedules.disable({ name, reason: 'too chatty' });
    // The beat reloads within a tick (a second at this lease); then nothing more is sent.
    await new Promise((r) => setTimeout(r, 1500));
    const before = (await app.state.beat.history(name)).length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(await app.state.beat.history(name)).toHaveLength(before);
    const listed = (await o.schedules.find()).items.find((i) => i.name === name);
    expect(listed).toMatchObject({ enabled: false, next: null });

    const now = await o.schedules.run({ name });
    const [manual] = await app.state.beat.history(name);
    expect(manual).toMatchObject({ taskId: now.taskId, by: operator.email });
    expect(await app.asyncResult(now.taskId).get({ timeout: 5 })).toBe(5);
    await o.schedules.enable({ name });
    expect(await app.state.beat.disabled()).toEqual([]);

    const actions = (await audits(name)).map((a) => [a.action, a.actorEmail, a.outcome]);
    expect(actions.slice(1)).toEqual([
      ['schedule.disable', operator.email, 'ok'],
      ['schedule.run', operator.email, 'ok'],
      ['schedule.enable', operator.email, 'ok'],
    ]);
    const disable = (await audits(name))[1]!;
    expect(disable.before).toMatchObject({ enabled: true });
    expect(disable.after).toMatchObject({ enabled: false });
    // Routed as the beat's app routes it (its default queue), though the console's own default differs.
    expect((await audits(name))[2]!.detail).toEqual({ taskId: now.taskId, queue });
  }, 20_000);

  it('an admin edits it to a cron and deletes it; both audited with before and after', async () => {
    const c = await h.callerFor(admin);
    await c.schedules.update(form({ kind: 'cron', cron: '0 9 * * *', timezone: 'America/New_York' }));
    const edited = (await c.schedules.find()).items.find((i) => i.name === name);
    expect(edited).toMatchObject({
      raw: '0 9 * * *',
      words: 'At 09:00, every day',
      definition: { timezone: 'America/New_York' },
    });
    await c.schedules.delete({ name, reason: 'done' });
    expect((await c.schedules.find()).items.map((i) => i.name)).toEqual(['nightly-report']);
    await rejects(c.schedules.run({ name }), 'NOT_FOUND');
    const [update, del] = (await audits(name)).filter(
      (a) => a.action === 'schedule.update' || a.action === 'schedule.delete',
    );
    expect(update).toMatchObject({
      before: { schedule: 1 },
      after: { schedule: '0 9 * * *', timezone: 'America/New_York' },
    });
    expect(del).toMatchObject({ before: { schedule: '0 9 * * *' }, after: null, reason: 'done' });
  });
});
