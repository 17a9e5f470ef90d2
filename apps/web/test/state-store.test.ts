/**
 * The console opens Lovage's records (settings, the task index, queues, dead letters) on LOVAGE_STATE_URL
 * when it is given, not on the broker's Redis.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { expect, it } from 'vitest';
import { LovageClients } from '../src/server/services/lovage';

const BROKER = 'redis://127.0.0.1:6379/0';
const STATE = 'redis://127.0.0.1:6379/2';

it('keeps settings and the queue registry on the state store given, apart from the broker', async () => {
  const prefix = `test-${randomUUID()}:`;
  const lovage = new LovageClients({
    brokerUrl: BROKER,
    resultBackendUrl: 'redis://127.0.0.1:6379/1',
    stateUrl: STATE,
    keyPrefix: prefix,
  });
  const [broker, state] = [new Redis(BROKER), new Redis(STATE)];
  const queue = `state-${randomUUID()}`;
  try {
    expect(lovage.app.state.displayUrl).toBe(STATE);
    await lovage.settings.save({ concurrency: 3 }, { expectedVersion: 0, updatedBy: 'test' });
    await lovage.app.sendTask('state.t', [], {}, { queue });
    expect(await state.exists(`${prefix}lovage:settings`)).toBe(1);
    expect(await broker.exists(`${prefix}lovage:settings`)).toBe(0);
    expect(await lovage.app.state.queues.list()).toEqual([queue]);
    expect(await lovage.app.broker.purge(queue)).toBe(1);
  } finally {
    await lovage.close();
    // What this test wrote, by name (never a pattern over a shared Redis).
    const written = ['lovage:settings', 'lovage:queues', `_kombu.binding.${queue}`].map((k) => prefix + k);
    for (const r of [broker, state]) {
      await r.del(...written);
      r.disconnect();
    }
  }
});
