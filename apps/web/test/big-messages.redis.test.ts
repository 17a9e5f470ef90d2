/**
 * A message of several megabytes never stalls the console: every page that shows one (Dead letters, a
 * task's detail and the task list, Queues, the audit of requeue and delete) answers with the text cut to
 * what is shown and its passwords masked, and the letter can be requeued byte for byte, or deleted.
 * (Masking used to backtrack quadratically over the whole message: minutes of CPU for one page.)
 */
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startHarness,
  startWorkerSide,
  type Harness,
  type TestUser,
  type WorkerSide,
} from './support/harness';
import { ev } from './support/events';
import { until } from './support/until';

const MB4 = 4 << 20;
/** Letters and digits only: the shape the old masking backtracked on. */
const BIG = `redis://:hunter2@db ${'x1'.repeat(MB4 / 2)}`;
/** Compared by digest: a failed comparison of megabytes would print them. */
const digest = (s: string | undefined) => s && createHash('sha256').update(s).digest('hex');

describe('multi-megabyte messages', () => {
  let h: Harness;
  let operator: TestUser;
  let side: WorkerSide;
  const queue = `big-${randomUUID()}`;
  const idle = `big-idle-${randomUUID()}`;
  let bigTaskId: string;
  let bigRaw: string;

  beforeAll(async () => {
    h = await startHarness('pglite');
    operator = await h.createUser('operator');
    side = await startWorkerSide(h, { queues: [queue], concurrency: 1 });
    bigTaskId = (await side.app.sendTask('no.such.big', [BIG], {}, { queue })).id;
    await h.redis.lpush(`${h.prefix}${queue}`, BIG);
    await side.app.sendTask('nobody.consumes', [BIG], {}, { queue: idle });
    await until('two dead letters', async () => {
      const q = (await side.app.state.deadLetters.queues()).find((x) => x.queue === queue);
      return q?.count === 2 ? q : undefined;
    });
    await side.worker.stop();
    const entries = await h.redis.lrange(`${h.prefix}lovage:dead:${queue}`, 0, -1);
    bigRaw = entries.map((e) => (JSON.parse(e) as { raw: string }).raw).find((r) => r.includes(bigTaskId))!;
    const at = Date.now() - 1000;
    const task = { id: randomUUID(), name: 'demo.big', at, args: `(${BIG},)`, queue };
    await h.services.lovage.taskIndex.apply([
      ev.sent(task),
      ev.received(task, 'w1@host', at + 1),
      ev.failed(task.id, 'w1@host', at + 2, `ValueError('${BIG}')`, `Traceback\n${BIG}\nValueError: x`),
    ]);
  }, 120_000);
  afterAll(async () => {
    await side?.close();
    await h?.close();
  });

  it('Dead letters lists them cut to 4,000 characters, decoded body and passwords masked', async () => {
    const c = await h.callerFor(operator);
    const page = await c.deadLetters.find({ queue });
    expect(page.total).toBe(2);
    const [junk, big] = page.items;
    expect(big).toMatchObject({ taskName: 'no.such.big', taskId: bigTaskId, rawTruncated: true });
    expect(big).toMatchObject({ bodyTruncated: true, reason: 'unregistered task "no.such.big"' });
    expect(big!.raw.length).toBeLessThanOrEqual(4000);
    expect(big!.body).toMatch(/^\[\["redis:\/\/:\*\*\*\*@db x1x1/);
    expect(big!.body!.length).toBeLessThanOrEqual(4000);
    expect(junk).toMatchObject({ taskName: null, rawTruncated: true, body: null });
    // The first 4,000 characters, then masked ('hunter2' became '****').
    expect(junk!.raw).toBe(`redis://:****@db ${'x1'.repeat(2000)}`.slice(0, 3997));
    expect(JSON.stringify(page)).not.toContain('hunter2');
  });

  it("a task's detail and the task list show its huge arguments, exception and traceback cut", async () => {
    const c = await h.callerFor(operator);
    const list = await c.tasks.find({ name: 'demo.big' });
    expect(list.total).toBe(1);
    const detail = await c.tasks.get({ id: list.items[0]!.id });
    for (const text of [detail.args, detail.exception, detail.traceback]) {
      expect(text!.length).toBeLessThanOrEqual(16_384);
      expect(text).not.toContain('hunter2');
    }
    expect(detail.traceback).toMatch(/ValueError: x$/);
  });

  it('Queues answers with a multi-megabyte message waiting and one dead', async () => {
    const queues = await (await h.callerFor(operator)).queues.find();
    expect(queues).toContainEqual(expect.objectContaining({ name: idle, waiting: 1 }));
    expect(queues).toContainEqual(expect.objectContaining({ name: queue, waiting: 0, deadLetters: 2 }));
  });

  it('the big letter is requeued byte for byte and the unreadable one deleted; the audit shows both', async () => {
    const c = await h.callerFor(operator);
    const [junk, big] = (await c.deadLetters.find({ queue })).items;
    await c.deadLetters.requeue({ queue, id: big!.id });
    const waiting = await h.redis.lrange(`${h.prefix}${queue}`, 0, -1);
    expect(waiting.map(digest)).toEqual([digest(bigRaw)]);
    expect((await c.deadLetters.delete({ queue, id: junk!.id })).message).toBe('Deleted for good.');
    expect(await c.deadLetters.find({ queue })).toMatchObject({ total: 0 });
    const audit = await c.audit.find({});
    expect(audit.items.map((e) => [e.action, e.outcome])).toEqual([
      ['deadletter.delete', 'ok'],
      ['deadletter.requeue', 'ok'],
    ]);
  });
});
