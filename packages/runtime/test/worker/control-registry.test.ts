/**
 * The worker's remote-control registry: every Celery command is there under Celery's kind
 * (`@inspect_command` reads, `@control_command` changes), and no inspect command changes the worker.
 */
import { describe, expect, it } from 'vitest';
import type { ControlRequest } from '../../src';
import { COMMANDS, handleControl } from '../../src/worker/control';
import { useTestApps } from '../helpers';

const INSPECT = [
  'ping',
  'active',
  'reserved',
  'scheduled',
  'query_task',
  'revoked',
  'registered',
  'stats',
  'active_queues',
  'conf',
  'report',
  'hello',
];
const CONTROL = [
  'revoke',
  'rate_limit',
  'time_limit',
  'pool_grow',
  'pool_shrink',
  'autoscale',
  'add_consumer',
  'cancel_consumer',
  'enable_events',
  'disable_events',
  'heartbeat',
  'apply_settings',
  'shutdown',
];

const req = (method: string, args: Record<string, unknown> = {}): ControlRequest => ({
  method,
  arguments: args,
  destination: null,
  pattern: null,
  matcher: null,
  ticket: 'ticket',
  reply_to: null,
});

describe('remote-control command registry', () => {
  const createTestApp = useTestApps();

  it('holds every command under the kind Celery gives it', () => {
    const kinds = Object.fromEntries(Object.entries(COMMANDS).map(([name, c]) => [name, c.kind]));
    expect(kinds).toEqual({
      ...Object.fromEntries(INSPECT.map((n) => [n, 'inspect'])),
      ...Object.fromEntries(CONTROL.map((n) => [n, 'control'])),
    });
  });

  it('inspect commands change nothing on the worker', async () => {
    const t = createTestApp();
    t.app.task('reg.add', (_ctx, a: number, b: number) => a + b, { rateLimit: '5/s' });
    const worker = t.worker({ concurrency: 2, taskEvents: true });
    const emitted: string[] = [];
    worker.on('shutdown-requested', () => emitted.push('shutdown-requested'));
    worker.on('settings-applied', () => emitted.push('settings-applied'));
    const state = () =>
      JSON.stringify({
        queues: worker.queues,
        concurrency: worker.concurrency,
        settings: worker.settings,
        limits: [...worker.taskLimits],
        revoked: [...worker.revoked],
        events: worker.events?.taskEvents,
        stats: worker.stats,
      });
    const before = state();
    for (const method of INSPECT) {
      await handleControl(worker, req(method, { ids: ['x'], from_node: 'other@host' }));
    }
    expect(state()).toBe(before);
    expect(emitted).toEqual([]);
  });

  it("answers an unknown method, even one named like an object's property, with Celery's KeyError", async () => {
    const worker = createTestApp().worker();
    expect(await handleControl(worker, req('nosuchcmd'))).toEqual({ error: "KeyError('nosuchcmd')" });
    expect(await handleControl(worker, req('constructor'))).toEqual({ error: "KeyError('constructor')" });
  });
});
