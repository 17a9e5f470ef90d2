/** Schedules without services: parsing, validation through the app config, next due times, the missed-run plan. */
import { describe, expect, it } from 'vitest';
import { parseConfig, type AppConfigInput } from '../../src/app/config';
import { plan } from '../../src/beat/beat';
import { checkCron, crontab, inTimezone, nextDue, type Schedule } from '../../src/beat/schedule';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const config = (beatSchedule: unknown, extra: Partial<AppConfigInput> = {}) =>
  parseConfig({
    broker: 'redis://127.0.0.1:6379/0',
    beatSchedule: beatSchedule as AppConfigInput['beatSchedule'],
    ...extra,
  });

describe('beatSchedule in the app config', () => {
  it('accepts seconds, a cron string and crontab(), with defaults for args, kwargs and options', () => {
    const c = config({
      every: { task: 'add', schedule: 1.5 },
      cron: { task: 'add', schedule: '*/5 * * * *', args: [1, 2] },
      nightly: { task: 'add', schedule: crontab({ minute: 30, hour: 4, dayOfWeek: 'mon-fri' }) },
    });
    expect(c.timezone).toBe('UTC');
    expect(c.beatMissedRuns).toBe('once');
    expect(c.beatSchedule.every).toEqual({
      task: 'add',
      schedule: { kind: 'interval', seconds: 1.5 },
      args: [],
      kwargs: {},
      options: {},
    });
    expect(c.beatSchedule.cron!.schedule).toEqual({
      kind: 'cron',
      expression: '*/5 * * * *',
      timezone: 'UTC',
    });
    expect(c.beatSchedule.nightly!.schedule).toMatchObject({ expression: '30 4 * * mon-fri' });
  });

  it.each([
    [
      { x: { task: 'add', schedule: '0 */5 * * * *' } },
      /at beatSchedule\.x\.schedule: a cron expression has 5 fields .*got 6/,
    ],
    [
      { x: { task: 'add', schedule: '61 * * * *' } },
      /at beatSchedule\.x\.schedule: invalid cron expression .*minute/,
    ],
    [
      { x: { task: 'add', schedule: -5 } },
      /at beatSchedule\.x\.schedule: an interval must be more than 0 seconds/,
    ],
    [{ x: { task: 'add', schedule: 0 } }, /at beatSchedule\.x\.schedule: an interval must be more than 0/],
    [{ x: { task: 'add', schedule: { every: 5 } } }, /at beatSchedule\.x\.schedule: expected seconds/],
    [{ x: { task: '', schedule: 5 } }, /at beatSchedule\.x\.task: must name a task/],
    [{ x: { schedule: 5 } }, /at beatSchedule\.x\.task/],
    [
      { x: { task: 'add', schedule: 5, kwarg: {} } },
      /unknown option beatSchedule\.x\.kwarg \(did you mean beatSchedule\.x\.kwargs\?\)/,
    ],
    [
      { x: { task: 'add', schedule: 5, options: { queu: 'q' } } },
      /unknown option beatSchedule\.x\.options\.queu \(did you mean beatSchedule\.x\.options\.queue\?\)/,
    ],
  ])('refuses %j naming the field', (entry, message) => {
    expect(() => config(entry)).toThrow(message);
  });

  it("refuses an unknown timezone and knows Celery's beat_schedule name", () => {
    expect(() => config({}, { timezone: 'Europe/Nowhere' })).toThrow(
      /at timezone: unknown timezone "Europe\/Nowhere"/,
    );
    expect(() =>
      parseConfig({ broker: 'redis://127.0.0.1:6379/0', beat_schedule: {} } as AppConfigInput),
    ).toThrow(/unknown option beat_schedule \(did you mean beatSchedule\?\)/);
  });
});

describe('next due times', () => {
  const cron = (expression: string, timezone = 'UTC'): Schedule => ({ kind: 'cron', expression, timezone });

  it('steps an interval on its grid from the anchor, never at or before `after`', () => {
    const s: Schedule = { kind: 'interval', seconds: 10 };
    const t0 = at('2026-01-01T00:00:00Z');
    expect(nextDue(s, t0) - t0).toBe(10_000);
    expect(iso(nextDue(s, t0 + 35_000, t0))).toBe('2026-01-01T00:00:40.000Z');
    expect(iso(nextDue(s, t0 + 40_000, t0))).toBe('2026-01-01T00:00:50.000Z');
  });

  it('reads cron in the app timezone, across a DST change', () => {
    expect(iso(nextDue(cron('*/5 * * * *'), at('2026-01-01T10:02:00Z')))).toBe('2026-01-01T10:05:00.000Z');
    const berlin9 = inTimezone(cron('0 9 * * *'), 'Europe/Berlin');
    expect(iso(nextDue(berlin9, at('2026-01-15T12:00:00Z')))).toBe('2026-01-16T08:00:00.000Z'); // CET
    expect(iso(nextDue(berlin9, at('2026-07-15T12:00:00Z')))).toBe('2026-07-16T07:00:00.000Z'); // CEST
    // 2026-03-29: Berlin's clocks go from 02:00 to 03:00; the day before and after keep 09:00 local.
    expect(iso(nextDue(berlin9, at('2026-03-28T09:00:00Z')))).toBe('2026-03-29T07:00:00.000Z');
    // 02:00 does not exist in Berlin that day: the run is at the first time after the jump (03:00 CEST).
    const berlin2 = inTimezone(cron('0 2 * * *'), 'Europe/Berlin');
    expect(iso(nextDue(berlin2, at('2026-03-28T12:00:00Z')))).toBe('2026-03-29T01:00:00.000Z');
    expect(iso(nextDue(berlin2, at('2026-03-29T01:00:00Z')))).toBe('2026-03-30T00:00:00.000Z');
    // New York's 2026-11-01 01:30 happens twice; it runs once.
    const ny = inTimezone(cron('30 1 * * *'), 'America/New_York');
    const first = nextDue(ny, at('2026-11-01T00:00:00Z'));
    expect(iso(first)).toBe('2026-11-01T05:30:00.000Z');
    expect(iso(nextDue(ny, first))).toBe('2026-11-02T06:30:00.000Z');
  });

  it("matches day of month and day of week both, as Celery's crontab", () => {
    // Friday the 13th only: 2026-02-13 and then 2026-03-13.
    const f13 = cron(crontab({ minute: 0, hour: 0, dayOfMonth: 13, dayOfWeek: 5 }).expression);
    expect(iso(nextDue(f13, at('2026-01-01T00:00:00Z')))).toBe('2026-02-13T00:00:00.000Z');
    expect(iso(nextDue(f13, at('2026-02-14T00:00:00Z')))).toBe('2026-03-13T00:00:00.000Z');
  });

  it('checks cron expressions', () => {
    expect(checkCron('*/5 * * * *')).toBeNull();
    expect(checkCron('0 0 * * mon-fri')).toBeNull();
    expect(checkCron('* * * *')).toMatch(/got 4/);
  });
});

describe('the missed-run plan', () => {
  const s: Schedule = { kind: 'interval', seconds: 1 };
  const t0 = at('2026-01-01T00:00:00Z');
  const state = { schedule: 'every 1s', last: t0 - 1000, next: t0 };

  it('first sight: no run now, the first one interval later', () => {
    expect(plan(s, null, t0, 'once')).toEqual({
      send: false,
      missed: 0,
      next: { schedule: 'every 1s', last: null, next: t0 + 1000 },
    });
  });

  it('not due yet: nothing', () => {
    expect(plan(s, state, t0 - 1, 'once')).toBeNull();
  });

  it('on time: one run, the next on the grid', () => {
    expect(plan(s, state, t0 + 300, 'skip')).toEqual({
      send: true,
      missed: 0,
      next: { schedule: 'every 1s', last: t0 + 300, next: t0 + 1000 },
    });
  });

  it('after an outage: `once` sends one run for all the missed ones, `skip` none; the next stays on the grid', () => {
    const once = plan(s, state, t0 + 5300, 'once')!;
    expect(once).toEqual({
      send: true,
      missed: 5,
      next: { schedule: 'every 1s', last: t0 + 5300, next: t0 + 6000 },
    });
    const skip = plan(s, state, t0 + 5300, 'skip')!;
    expect(skip).toEqual({
      send: false,
      missed: 5,
      next: { schedule: 'every 1s', last: t0 - 1000, next: t0 + 6000 },
    });
  });

  it('a changed schedule starts its timing afresh', () => {
    expect(plan({ kind: 'interval', seconds: 2 }, state, t0 + 5300, 'once')).toMatchObject({
      send: false,
      next: { schedule: 'every 2s', next: t0 + 7300 },
    });
  });
});
