/**
 * Wire interop with real Celery 5.2.6 (Debian's /usr/bin/python3), both directions, on one broker
 * (celery-interop.redis.test.ts, celery-interop.amqp.test.ts): results, failures (exception type, message,
 * traceback), retries, ETA/countdown and expiry.
 *
 * Python side: ./py/pytasks.py (the Celery app and its tasks) and ./py/client.py (sends tasks, prints the
 * outcomes as JSON). Isolation (./interop-target.ts): a key prefix or a vhost per file, one queue per test;
 * result keys are deleted by task id. Every Python process is killed in afterAll, also when a test fails.
 */
import { type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Worker, type ApplyOptions, AsyncResult, type TaskFailedError } from '../../src/index';
import {
  runPyJson,
  startCeleryWorker,
  stopProcess,
  type InteropKind,
  uniq,
  useInterop,
} from './interop-target';

export function describeCeleryInterop(kind: InteropKind): void {
  const { target, app, taskIds, queues } = useInterop(kind, 'interop');

  // ---------------------------------------------------------------- Lovage app and its tasks

  class PaymentDeclined extends Error {
    constructor(message: string) {
      super(message);
      this.name = 'PaymentDeclined';
    }
  }

  /** A custom header: numbers on both sides of the 32-bit boundary, a float, null, nesting, text. */
  const CUSTOM = {
    big: 2 ** 40,
    neg: -5,
    negBig: -(2 ** 35),
    float: 1.5,
    none: null,
    list: [1, 'ü'],
    nested: { ok: true },
  };

  /** Ids of `ts.mark` runs: an expired task must never get here. */
  const marked = new Set<string>();

  app.task('ts.add', (_ctx, a: number, b: number) => a + b);
  app.task('ts.echo', (ctx, ...args: unknown[]) => ({ args, kwargs: ctx.kwargs }));
  app.task('ts.typeError', (_ctx, value: unknown) => {
    throw new TypeError(`expected a number, got ${JSON.stringify(value)}`);
  });
  app.task('ts.custom', (_ctx, card: string) => {
    throw new PaymentDeclined(`card ${card} declined`);
  });
  app.task(
    'ts.flaky',
    (ctx, x: number) => {
      if (ctx.retries < 1) ctx.retry({ countdown: 0.1 });
      return { value: x * 2, retries: ctx.retries };
    },
    { maxRetries: 3 },
  );
  app.task('ts.now', () => Date.now() / 1000);
  app.task('ts.mark', (ctx) => {
    marked.add(ctx.id);
    return 'ran';
  });
  /** What the worker read from the message. */
  app.task('ts.request', (ctx) => {
    const { timeLimit, retries, priority, replyTo, origin, argsrepr, redelivered, headers } = ctx.request;
    return {
      timeLimit,
      retries,
      priority,
      replyTo,
      origin,
      argsrepr,
      redelivered,
      custom: headers.x_custom ?? null,
    };
  });

  async function send(name: string, args: unknown[], options: ApplyOptions): Promise<AsyncResult> {
    const r = await app.sendTask(name, args, {}, options);
    taskIds.add(r.id);
    return r;
  }

  /** The rejection of `get`, or a failed expectation if it resolved. */
  async function rejection(r: AsyncResult, timeout: number): Promise<TaskFailedError> {
    const outcome = await r.get({ timeout }).then(
      (value) => ({ value }),
      (err: unknown) => ({ err: err as TaskFailedError }),
    );
    if (!('err' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
    return outcome.err;
  }

  // ---------------------------------------------------------------- Python processes

  interface PyCall {
    name: string;
    args?: unknown[];
    kwargs?: Record<string, unknown>;
    options: {
      queue: string;
      countdown?: number;
      expires?: number;
      priority?: number;
      time_limit?: number;
      soft_time_limit?: number;
      headers?: Record<string, unknown>;
    };
  }

  interface PyOutcome {
    id: string;
    state: string;
    /** Epoch seconds just before send_task. */
    sent_at: number;
    /** Seconds from send_task to get() returning. */
    elapsed: number;
    ok: boolean;
    result?: unknown;
    exc_type?: string;
    exc_module?: string;
    /** The re-raised exception is the real Python builtin class of that name. */
    exc_builtin?: boolean;
    exc_args?: unknown[];
    traceback?: string | null;
  }

  /** Runs py/client.py: a Celery client sends `calls`, waits for each result and reports them. */
  async function pyClient(calls: PyCall[], timeout = 20): Promise<PyOutcome[]> {
    const out = await runPyJson<PyOutcome[]>(
      target,
      ['client.py', JSON.stringify({ timeout, calls })],
      (timeout + 15) * 1000,
    );
    for (const o of out) taskIds.add(o.id);
    return out;
  }

  /** Starts a Celery worker (solo pool) on `queues`; resolves once it has run a task. */
  async function startPyWorker(queues: string[]): Promise<{ proc: ChildProcess; stderr: () => string }> {
    const hostname = `${uniq('celery')}@localhost`;
    const { proc, stderr, died } = startCeleryWorker(target, {
      module: 'pytasks',
      hostname,
      queues,
      heartbeat: false,
    });
    // Ready = a first task round trip through the first queue.
    const first = await send('py.add', [20, 22], { queue: queues[0] });
    const value = await Promise.race([first.get({ timeout: 25 }), died()]);
    expect(value).toBe(42);
    return { proc, stderr };
  }

  // ---------------------------------------------------------------- Celery client -> Lovage worker

  /** Starts a Lovage worker on a fresh queue for one test and stops it afterwards, also on failure. */
  async function withLovageWorker<T>(
    fn: (queue: string, worker: Worker) => Promise<T>,
    queue = uniq('q'),
  ): Promise<T> {
    queues.add(queue);
    const worker = new Worker(app, {
      queues: [queue],
      concurrency: 4,
      hostname: `lovage-${queue}@localhost`,
    });
    await worker.start();
    try {
      return await fn(queue, worker);
    } finally {
      await worker.stop();
    }
  }

  describe('Celery 5.2.6 client -> Lovage worker', () => {
    it('runs tasks sent by Celery and Celery reads their results', async () => {
      await withLovageWorker(async (queue) => {
        const [sum, echo] = await pyClient([
          { name: 'ts.add', args: [2, 3], options: { queue } },
          {
            name: 'ts.echo',
            args: [1, 'ü€', [1, 2], { a: null }],
            kwargs: { k: 1.5, flag: true },
            options: { queue },
          },
        ]);
        expect(sum).toMatchObject({ ok: true, state: 'SUCCESS', result: 5 });
        expect(echo).toMatchObject({
          ok: true,
          state: 'SUCCESS',
          result: { args: [1, 'ü€', [1, 2], { a: null }], kwargs: { k: 1.5, flag: true } },
        });
      });
    });

    it('reads the headers, properties and delivery flags Celery sent', async () => {
      await withLovageWorker(async (queue) => {
        const [out] = await pyClient([
          {
            name: 'ts.request',
            args: [1, 'a'],
            options: {
              queue,
              priority: 3,
              time_limit: 30,
              soft_time_limit: 20,
              headers: { x_custom: CUSTOM },
            },
          },
        ]);
        expect(out).toMatchObject({ ok: true, state: 'SUCCESS' });
        expect(out!.result).toEqual({
          timeLimit: [30, 20],
          retries: 0,
          priority: 3,
          replyTo: expect.any(String),
          origin: expect.stringContaining('@'),
          // Celery's saferepr of its args list.
          argsrepr: "[1, 'a']",
          redelivered: kind === 'amqp' ? false : null,
          custom: CUSTOM,
        });
      });
    });

    it('reports a Lovage TypeError as builtins.TypeError and a custom error class by its name', async () => {
      await withLovageWorker(async (queue) => {
        const [typeError, custom] = await pyClient([
          { name: 'ts.typeError', args: ['x'], options: { queue } },
          { name: 'ts.custom', args: ['4242'], options: { queue } },
        ]);
        expect(typeError).toMatchObject({
          ok: false,
          state: 'FAILURE',
          exc_type: 'TypeError',
          exc_module: 'builtins',
          exc_builtin: true,
          exc_args: ['expected a number, got "x"'],
        });
        expect(typeError!.traceback).toContain('celery-interop.shared.ts');
        expect(custom).toMatchObject({
          ok: false,
          state: 'FAILURE',
          exc_type: 'PaymentDeclined',
          exc_builtin: false,
          exc_args: ['card 4242 declined'],
        });
        expect(custom!.exc_module).not.toBe('builtins');
        expect(custom!.traceback).toContain('celery-interop.shared.ts');
      });
    });

    it('retries a Lovage task once (ctx.retry) and Celery gets the final result', async () => {
      await withLovageWorker(async (queue, worker) => {
        let retried = 0;
        worker.on('task-retried', () => retried++);
        const [out] = await pyClient([{ name: 'ts.flaky', args: [21], options: { queue } }]);
        expect(out).toMatchObject({ ok: true, state: 'SUCCESS', result: { value: 42, retries: 1 } });
        expect(retried).toBe(1);
      });
    });

    it('honours a Celery countdown: the task does not run before its ETA', async () => {
      await withLovageWorker(async (queue) => {
        const [out] = await pyClient([{ name: 'ts.now', options: { queue, countdown: 1 } }]);
        expect(out).toMatchObject({ ok: true, state: 'SUCCESS' });
        const ranAt = out!.result as number;
        expect(ranAt - out!.sent_at).toBeGreaterThanOrEqual(0.9);
        expect(out!.elapsed).toBeGreaterThanOrEqual(0.9);
      });
    });

    it('revokes tasks Celery sent already expired, or that expire before their ETA', async () => {
      // On RabbitMQ these arrive although Celery set an AMQP `expiration` on them (0 for the one already
      // past): the worker's consumer is ready, so RabbitMQ delivers at once (see the next test for the queue
      // without a consumer).
      await withLovageWorker(async (queue) => {
        const [past, beforeEta, fresh] = await pyClient([
          { name: 'ts.mark', options: { queue, expires: -5 } },
          { name: 'ts.mark', options: { queue, countdown: 1.5, expires: 0.5 } },
          { name: 'ts.mark', options: { queue, expires: 60 } },
        ]);
        for (const out of [past, beforeEta]) {
          expect(out).toMatchObject({
            ok: false,
            state: 'REVOKED',
            exc_type: 'TaskRevokedError',
            exc_args: ['expired'],
          });
          expect(marked.has(out!.id)).toBe(false);
        }
        // The control: the same task, not expired, runs.
        expect(fresh).toMatchObject({ ok: true, state: 'SUCCESS', result: 'ran' });
        expect(marked.has(fresh!.id)).toBe(true);
      });
    });

    it.runIf(kind === 'amqp')(
      'RabbitMQ drops an expired task Celery sent to a queue nobody consumes; Lovage sends none that way',
      async () => {
        // Celery 5.2.6 publishes `expires` also as the AMQP `expiration` property (celery/app/base.py
        // send_task; 0 when already past). RabbitMQ drops an expired message when it is at the queue head
        // (at once in an empty queue; behind others only once it gets there), never delivering it: no worker
        // sees it and its state stays PENDING for ever. Lovage sets no `expiration`: its expired task waits in
        // the queue and the worker stores REVOKED.
        const queue = uniq('q');
        queues.add(queue);
        const celeryExpired = (timeout: number) =>
          pyClient([{ name: 'ts.mark', options: { queue, expires: -5 } }], timeout);
        const [atHead] = await celeryExpired(0.5);
        expect(atHead).toMatchObject({ ok: false, state: 'PENDING', exc_type: 'TimeoutError' });
        expect(await target.queueLength(queue)).toBe(0);
        const lovageSent = await send('ts.mark', [], { queue, expires: new Date(Date.now() - 5000) });
        expect(await target.queueLength(queue)).toBe(1);
        const [behind] = await celeryExpired(0.1);
        expect(await target.queueLength(queue)).toBe(2);
        await withLovageWorker(async () => {
          expect(await rejection(lovageSent, 10)).toMatchObject({ name: 'TaskRevokedError' });
          expect(await lovageSent.state()).toBe('REVOKED');
          // A task sent after the dropped ones runs: they never reached the worker.
          expect(await (await send('ts.mark', [], { queue })).get({ timeout: 10 })).toBe('ran');
        }, queue);
        expect(await target.queueLength(queue)).toBe(0);
        for (const out of [atHead, behind]) {
          expect(await new AsyncResult(out!.id, app).state()).toBe('PENDING');
          expect(marked.has(out!.id)).toBe(false);
        }
      },
    );
  });

  // ---------------------------------------------------------------- Lovage client -> Celery worker

  describe('Lovage client -> Celery 5.2.6 worker', () => {
    const q = {
      ready: uniq('ready'),
      ok: uniq('ok'),
      fail: uniq('fail'),
      retry: uniq('retry'),
      eta: uniq('eta'),
      expired: uniq('expired'),
    };
    Object.values(q).forEach((name) => queues.add(name));
    let py: Awaited<ReturnType<typeof startPyWorker>> | null = null;

    beforeAll(async () => {
      py = await startPyWorker(Object.values(q));
    }, 40_000);

    afterAll(async () => {
      if (py) await stopProcess(py.proc);
    });

    it('Celery reads the headers, properties and delivery_info Lovage sent', async () => {
      const r = await send('py.request', [1, 'a'], {
        queue: q.ok,
        priority: 3,
        timeLimit: 30,
        softTimeLimit: 20,
        headers: { x_custom: CUSTOM },
      });
      expect(await r.get({ timeout: 15 })).toEqual({
        timelimit: [30, 20],
        retries: 0,
        // Lovage publishes on the default exchange, routing key = queue; Celery's retry re-routes the same way.
        delivery_info: {
          exchange: '',
          routing_key: q.ok,
          priority: 3,
          redelivered: kind === 'amqp' ? false : null,
        },
        // No rpc:// backend in Lovage, so no reply queue named.
        reply_to: null,
        correlation_id: r.id,
        origin: expect.stringContaining('@'),
        argsrepr: "(1, 'a')",
        // Known limit (src/broker/amqp/headers.ts): py-amqp <= 5.3.1 reads the AMQP `l` tag unsigned, so an
        // integer below -2^31 reaches Celery as v + 2^64 (py-amqp#465); `L`, which it reads right, would close
        // every unpatched amqplib consumer's connection. On Redis the headers are JSON.
        custom: kind === 'amqp' ? { ...CUSTOM, negBig: 2 ** 64 - 2 ** 35 } : CUSTOM,
      });
    });

    it('runs a Lovage-sent task on Celery and Lovage reads the result', async () => {
      const sum = await send('py.add', [2, 3], { queue: q.ok });
      const concat = await send('py.add', [['ü'], [{ a: null }]], { queue: q.ok });
      expect(await sum.get({ timeout: 15 })).toBe(5);
      expect(await concat.get({ timeout: 15 })).toEqual(['ü', { a: null }]);
      expect(await sum.state()).toBe('SUCCESS');
    });

    it('rejects with the Python ValueError, its message and traceback', async () => {
      const r = await send('py.fail', ['boom'], { queue: q.fail });
      const err = await rejection(r, 15);
      expect(err.name).toBe('ValueError');
      expect(err.message).toContain('boom');
      expect(err.remoteModule).toBe('builtins');
      expect(err.traceback).toMatch(/^Traceback \(most recent call last\)/);
      expect(err.traceback).toContain('raise ValueError(message)');
      expect(await r.state()).toBe('FAILURE');
    });

    it('follows a Celery self.retry() to the final result', async () => {
      const r = await send('py.flaky', [21], { queue: q.retry });
      expect(await r.get({ timeout: 15 })).toEqual({ value: 42, retries: 1 });
    });

    it('does not run a countdown task on Celery before its ETA', async () => {
      const t0 = Date.now();
      const r = await send('py.now', [], { queue: q.eta, countdown: 1 });
      const ranAt = (await r.get({ timeout: 15 })) as number;
      const elapsed = Date.now() - t0;
      expect(ranAt * 1000 - t0).toBeGreaterThanOrEqual(900);
      expect(elapsed).toBeGreaterThanOrEqual(900);
    });

    it('sees REVOKED for tasks sent already expired, or that expire before their ETA', async () => {
      const past = await send('py.mark', [], { queue: q.expired, expires: new Date(Date.now() - 5000) });
      const beforeEta = await send('py.mark', [], { queue: q.expired, countdown: 1.5, expires: 0.5 });
      const fresh = await send('py.mark', [], { queue: q.expired, expires: 60 });
      for (const r of [past, beforeEta]) {
        const err = await rejection(r, 15);
        expect(err.name).toBe('TaskRevokedError');
        expect(err.message).toContain('expired');
        expect(await r.state()).toBe('REVOKED');
        expect(await target.ranMark(r.id)).toBe(false);
      }
      // The control: the same task, not expired, runs and leaves its trace.
      expect(await fresh.get({ timeout: 15 })).toBe('ran');
      expect(await target.ranMark(fresh.id)).toBe(true);
    });
  });
}
