/**
 * A steady stream of delay() calls through a RabbitMQ fault, for the AMQP reliability tests: what each call
 * became (resolved, or failed with a PublishError) and how long it took to settle.
 */
import { expect } from 'vitest';
import { PublishError, type App, type AsyncResult } from '../../src/index';

export interface Sent {
  n: number;
  result: AsyncResult | null;
  error: unknown;
  settledMs: number;
}

/**
 * Sends `task`(n) every `everyMs` from before `fault` starts until `afterMs` after it ends, then waits for
 * every call to settle. The fault runs while the stream does.
 */
export async function streamThrough(
  app: App,
  task: string,
  fault: () => Promise<void>,
  { everyMs = 10, beforeMs = 300, afterMs = 1000 } = {},
): Promise<Sent[]> {
  const calls: Promise<Sent>[] = [];
  let sending = true;
  const send = async () => {
    for (let n = 0; sending; n++) {
      const t0 = Date.now();
      calls.push(
        app.sendTask(task, [n]).then(
          (result) => ({ n, result, error: null, settledMs: Date.now() - t0 }),
          (error: unknown) => ({ n, result: null, error, settledMs: Date.now() - t0 }),
        ),
      );
      await new Promise((r) => setTimeout(r, everyMs));
    }
  };
  const sender = send();
  await new Promise((r) => setTimeout(r, beforeMs));
  await fault();
  await new Promise((r) => setTimeout(r, afterMs));
  sending = false;
  await sender;
  return Promise.all(calls);
}

/**
 * Every call settled within `maxSettleMs`; a failure is a PublishError; every task whose delay() resolved
 * completes with its own argument. Returns how many resolved.
 */
export async function expectNothingLost(sent: Sent[], maxSettleMs: number): Promise<number> {
  for (const s of sent) {
    expect(s.settledMs).toBeLessThan(maxSettleMs);
    if (s.error) expect(s.error).toBeInstanceOf(PublishError);
  }
  const ok = sent.filter((s) => s.result);
  const values = await Promise.all(ok.map((s) => s.result!.get({ timeout: 30 })));
  expect(values).toEqual(ok.map((s) => s.n));
  return ok.length;
}
