/**
 * Journey 7: the backlog. Tasks sent to a queue no worker consumes wait there; the Queues page shows the
 * backlog and that nobody consumes it, beside the e2e queue and its worker; purging asks for the queue's
 * name, refuses a wrong one, then empties the queue. Pausing asks why, shows who paused it and why, and
 * resumes; the audit log has both.
 */
import { expect, snap, test } from '../support/fixtures';

test.use({ role: 'admin' });

test('a queue nobody consumes shows its backlog, and purging it needs its name typed', async ({
  page,
  queue,
  run,
}) => {
  const idle = `${run.queue}-idle`;
  for (const n of [1, 2]) await queue.send('e2e.add', [n, n], { queue: idle });

  await page.goto('/queues');
  await expect(page.getByRole('heading', { level: 1, name: 'Queues' })).toBeVisible();
  const table = page.getByRole('table', { name: 'Queues' });
  const row = table.getByRole('row').filter({ hasText: idle });
  await expect(row.getByRole('cell').nth(1)).toHaveText('2');
  await expect(row).toContainText('no worker answered for it');
  const home = table.getByRole('row').filter({ has: page.getByText(run.queue, { exact: true }) });
  await expect(home).toContainText(run.workerHostname);
  await snap(page, 'queues');

  await row.getByRole('button', { name: `Purge ${idle}` }).click();
  const form = row.getByRole('form', { name: `Purge ${idle}` });
  await form.getByLabel(`Type ${idle} to confirm`).fill('not-the-name');
  await form.getByRole('button', { name: 'Purge', exact: true }).click();
  await expect(form.getByRole('alert')).toHaveText("type the queue's name to confirm");
  await expect(form.getByLabel(`Type ${idle} to confirm`)).toHaveAttribute('aria-invalid', 'true');
  await expect(row.getByRole('cell').nth(1)).toHaveText('2');

  await form.getByLabel(`Type ${idle} to confirm`).fill(idle);
  await form.getByRole('button', { name: 'Purge', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Purged' })).toHaveText(
    `Purged 2 waiting messages from ${idle}.`,
  );
  await expect(row.getByRole('cell').nth(1)).toHaveText('0');
});

test('pausing a queue asks why, shows who paused it, and resuming lifts it; both are audited', async ({
  page,
  queue,
  run,
  user,
}) => {
  const held = `${run.queue}-held`;
  await queue.send('e2e.add', [1, 1], { queue: held });
  await page.goto('/queues');
  const row = page.getByRole('table', { name: 'Queues' }).getByRole('row').filter({ hasText: held });
  await row.getByRole('button', { name: `Pause ${held}` }).click();
  const form = row.getByRole('form', { name: `Pause ${held}` });
  await form.getByRole('button', { name: 'Pause', exact: true }).click();
  await expect(form.getByRole('alert')).toHaveText('say why the queue is paused');
  await expect(form.getByLabel(`Why pause ${held}`)).toHaveAttribute('aria-invalid', 'true');

  await form.getByLabel(`Why pause ${held}`).fill('supplier outage');
  await form.getByRole('button', { name: 'Pause', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Paused' })).toHaveText(
    `Paused ${held}: no worker was consuming it; workers started later leave it out.`,
  );
  await expect(row).toContainText(`Paused by ${user.email}`);
  await expect(row).toContainText('supplier outage');

  await row.getByRole('button', { name: `Resume ${held}` }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Resumed' })).toHaveText(`Resumed ${held}.`);
  await expect(row).not.toContainText('Paused by');

  await page.goto('/audit');
  const entries = page.getByRole('table', { name: 'Audit log' }).locator(':scope > tbody > tr');
  await expect(
    entries.filter({ hasText: 'Pause queue (every worker)' }).filter({ hasText: held }),
  ).toHaveCount(1);
  await expect(entries.filter({ hasText: 'Resume queue' }).filter({ hasText: held })).toHaveCount(1);
});
