/**
 * Journey 10: the console on RabbitMQ. A stack of its own on a vhost of its own, whatever broker the run is
 * on: `lovage worker` and `lovage monitor` with `--broker amqp://…`, a console with LOVAGE_BROKER_URL on the
 * vhost; results and the state store on the run's Redis under a prefix inside the run's (the teardown's key
 * cleanup takes them). Tasks sent through RabbitMQ appear in the task list, a failure retried from the
 * console succeeds, and the Queues page shows each queue's ready count and, as the workers report it, its
 * unacknowledged count. The vhost is deleted afterwards.
 */
import { appendFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createApp, type App } from '@lovage/runtime';
import { prepareTestBroker } from '../../packages/runtime/src/testing/test-broker';
import { ConsoleApi } from '../support/console-api';
import { childEnv, startConsole } from '../support/console-process';
import { detailValue, expect, rowWith, snap, test } from '../support/fixtures';
import { startProcess, stopProcess, waitFor, type Managed } from '../support/processes';
import { workerIndexed } from '../support/redis';
import { LOG_DIR, REPO_DIR } from '../support/run-info';

const LOVAGE_BIN = path.join(REPO_DIR, 'apps/worker/bin/lovage.mjs');

test('on RabbitMQ: tasks are listed, a failure is retried, queues show ready and unacknowledged counts', async ({
  browser,
  run,
  marker,
}) => {
  test.setTimeout(150_000);
  const { broker, teardown } = await prepareTestBroker({ TEST_BROKER: 'amqp' });
  const prefix = `${run.prefix}amqp-`;
  const queue = `${run.queue}-amqp`;
  const idle = `${queue}-idle`;
  const hostname = `amqp-${run.runId}@e2e`;
  const processes: Managed[] = [];
  let sender: App | null = null;
  let api: ConsoleApi | null = null;
  try {
    const env = childEnv({
      LOVAGE_E2E_PREFIX: prefix,
      LOVAGE_E2E_QUEUE: queue,
      LOVAGE_LOG_FORMAT: 'json',
      LOVAGE_STATE_URL: run.stateUrl,
    });
    const lovage = (name: string, args: string[]) => {
      const p = startProcess(name, process.execPath, [LOVAGE_BIN, ...args], {
        cwd: REPO_DIR,
        env,
        logDir: LOG_DIR,
      });
      processes.push(p);
      return p;
    };
    // One task at a time, so the tasks sent behind a running one wait in the worker, unacknowledged.
    lovage('worker-amqp', [
      ...['worker', '-A', 'e2e/fixtures/tasks.ts', '-E', '-P', 'async', '-c', '1', '-n', hostname],
      ...['--broker', broker.url, '--result-backend', run.resultBackendUrl],
    ]);
    lovage('monitor-amqp', ['monitor', '--broker', broker.url, '--key-prefix', prefix]);
    const admin = {
      email: `admin-amqp-${run.runId}@e2e.test`,
      password: `pw-${randomBytes(12).toString('base64url')}`,
    };
    const { web, baseURL } = await startConsole({
      name: 'web-amqp',
      brokerUrl: broker.url,
      resultBackendUrl: run.resultBackendUrl,
      stateUrl: run.stateUrl,
      prefix,
      dataDir: path.join(run.runDir, 'console-amqp'),
      env: {
        LOVAGE_ADMIN_EMAIL: admin.email,
        LOVAGE_ADMIN_PASSWORD: admin.password,
        LOVAGE_TRUSTED_PROXIES: '127.0.0.1,::1',
      },
    });
    processes.unshift(web);
    await waitFor(
      `the worker ${hostname} in the task index`,
      () => workerIndexed(run.stateUrl, prefix, hostname).then((ok) => ok || null),
      { timeoutMs: 30_000, processes },
    );
    // Seeded, not clicked: the admin's session.
    api = await ConsoleApi.signIn(baseURL, admin.email, admin.password);
    const storageState = path.join(run.runDir, 'state-amqp-admin.json');
    await api.saveState(storageState);
    const context = await browser.newContext({ baseURL, storageState });
    const page = await context.newPage();

    sender = createApp({
      broker: broker.url,
      backend: run.resultBackendUrl,
      state: run.stateUrl,
      defaultQueue: queue,
      brokerTransportOptions: { globalKeyprefix: prefix },
    });
    const app = sender;
    // The teardown deletes the results of the tasks listed there.
    const record = (id: string) => appendFileSync(path.join(run.runDir, 'sent-task-ids.txt'), `${id}\n`);
    const send = async (name: string, args: unknown[], q = queue) => {
      const { id } = await app.sendTask(name, args, {}, { queue: q });
      record(id);
      return id;
    };

    await page.goto('/tasks');
    await expect(page.getByRole('heading', { level: 1, name: 'Tasks' })).toBeVisible();
    const table = page.getByRole('table', { name: 'Tasks' });
    const addId = await send('e2e.add', [20, 22]);
    const failedId = await send('e2e.flaky', [marker]);
    await expect(rowWith(table, addId)).toContainText('SUCCESS');
    await expect(rowWith(table, failedId)).toContainText('FAILURE');
    await snap(page, 'rabbitmq-tasks');

    await rowWith(table, failedId).getByRole('link', { name: 'e2e.flaky' }).click();
    await expect(detailValue(page, 'State')).toHaveText('FAILURE');
    await page.getByRole('button', { name: 'Retry', exact: true }).click();
    const outcome = page.getByRole('status').filter({ hasText: 'Sent again as task' });
    await expect(outcome).toBeVisible();
    const newId = /Sent again as task ([\w-]+)\./.exec(await outcome.innerText())?.[1];
    expect(newId, 'the outcome names the new task').toBeTruthy();
    record(newId!);
    await outcome.getByRole('button', { name: 'Open the new task' }).click();
    await expect(detailValue(page, 'Id')).toHaveText(newId!);
    await expect(detailValue(page, 'State')).toHaveText('SUCCESS');
    await expect(page.getByLabel('Result', { exact: true })).toContainText(`${marker}: recovered`);

    // Two wait in a queue nobody consumes; of three slow ones, one runs (acknowledged as it started) and
    // two wait in the worker, delivered and unacknowledged.
    for (const n of [1, 2]) await send('e2e.add', [n, n], idle);
    for (let i = 0; i < 3; i++) await send('e2e.slow', [60_000]);
    await page.goto('/queues');
    const queues = page.getByRole('table', { name: 'Queues' });
    const idleRow = rowWith(queues, idle);
    await expect(idleRow.getByRole('cell').nth(1)).toHaveText('2');
    await expect(idleRow.getByRole('cell').nth(2)).toHaveText('0 (as workers report)');
    await expect(idleRow).toContainText('no worker answered for it (0 consumers on the broker)');
    const busyRow = queues.getByRole('row').filter({ has: page.getByText(queue, { exact: true }) });
    await expect(busyRow.getByRole('cell').nth(1)).toHaveText('0');
    await expect(busyRow.getByRole('cell').nth(2)).toHaveText('2 (as workers report)');
    await expect(busyRow).toContainText(`${hostname} (1 consumer on the broker)`);
    await snap(page, 'rabbitmq-queues');
    await context.close();
  } finally {
    await api?.dispose();
    await sender?.close();
    // The console first: it closes its PGlite folder on SIGTERM. The worker's slow tasks stop cold.
    for (const p of processes) await stopProcess(p);
    await teardown();
  }
});
