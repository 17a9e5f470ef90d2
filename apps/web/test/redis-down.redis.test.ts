/**
 * Redis down: the console still starts and signs people in (its database is elsewhere), and every page
 * that needs Redis answers at once with SERVICE_UNAVAILABLE naming where it looked and how to fix it, rather
 * than hanging through ioredis' half minute of reconnects. The console knows nothing of ioredis: the
 * runtime's adapters fail with their subsystem's "unavailable" code, which its one table maps.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness, type TestUser } from './support/harness';
import { rejects } from './support/rejects';

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('the console with Redis unreachable', () => {
  let h: Harness;
  let viewer: TestUser;
  let url: string;

  beforeAll(async () => {
    url = `redis://:secret@127.0.0.1:${await closedPort()}/0`;
    h = await startHarness('pglite', { redisUrl: url });
    viewer = await h.createUser('viewer');
  });
  afterAll(() => h?.close());

  it('signs in, and each Redis-backed page fails fast with a message that names the URL, password masked', async () => {
    const c = await h.callerFor(viewer);
    expect((await c.me.get()).email).toBe(viewer.email);
    const masked = url.replace(':secret@', ':****@');
    for (const call of [
      () => c.tasks.find({}),
      () => c.tasks.activity({ minutes: 60 }),
      () => c.queues.find(),
      () => c.deadLetters.queues(),
      () => c.settings.get(),
    ]) {
      const started = Date.now();
      const err = await rejects(call(), 'SERVICE_UNAVAILABLE');
      // The state store (the broker's Redis here) or the broker, whichever failed first.
      expect([
        `Redis is not reachable at ${masked}. Start it, or point LOVAGE_STATE_URL (by default the broker URL) at it.`,
        `Redis is not reachable at ${masked}. Start it, or point LOVAGE_BROKER_URL at it.`,
      ]).toContain(err.message);
      expect(err.message).not.toContain('secret');
      // One reconnect attempt, not twenty: well under ioredis' default half minute.
      expect(Date.now() - started).toBeLessThan(5000);
    }
  });

  it('refuses live updates within a few seconds rather than pretending to be live', async () => {
    const c = await h.callerFor(viewer);
    const started = Date.now();
    const iterable = await c.tasks.onChange();
    const err = await rejects(iterable[Symbol.asyncIterator]().next(), 'SERVICE_UNAVAILABLE');
    expect(err.message).toMatch(
      /^live updates need Redis at redis:\/\/:\*\*\*\*@127\.0\.0\.1:\d+\/0: no answer within 3 s\. Start it, or point LOVAGE_STATE_URL \(by default the broker URL\) at it\.$/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });
});
