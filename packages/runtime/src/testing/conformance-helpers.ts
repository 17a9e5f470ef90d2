/** Helpers the conformance suites share: test messages, and waiting for deliveries or a condition. */
import { randomUUID } from 'node:crypto';
import type { Consumer, Delivery } from '../broker/broker';
import { encodeTaskMessage, type OutgoingMessage } from '../protocol/message';

export const WAIT_MS = 5000;

export function message(n: number, priority = 0): OutgoingMessage {
  return encodeTaskMessage({
    id: `m${n}-${randomUUID()}`,
    name: 'conformance.task',
    args: [n],
    kwargs: {},
    origin: 'conformance',
    priority,
  });
}

/** The first argument of a delivered task message: which `message(n)` it is. */
export function nOf(d: Delivery): number {
  if (!d.message) throw new Error(`unreadable delivery: ${d.envelopeError}`);
  const body = JSON.parse(d.message.body) as [unknown[], unknown, unknown];
  return body[0][0] as number;
}

/** Reserves until `count` deliveries arrived, or fails after `timeoutMs`. */
export async function reserveN(consumer: Consumer, count: number, timeoutMs = WAIT_MS): Promise<Delivery[]> {
  const out: Delivery[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    if (Date.now() > deadline) {
      throw new Error(`reserved ${out.length} of ${count} messages within ${timeoutMs} ms`);
    }
    out.push(...(await consumer.reserve(count - out.length)));
  }
  return out;
}

export async function until<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
