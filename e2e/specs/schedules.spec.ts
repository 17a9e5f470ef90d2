/**
 * The Schedules journey: the fixtures' code-defined schedule is listed in plain words (the worker runs
 * beat, -B); an admin's cron with six fields is refused under its field; a 1-second console schedule is
 * created, run by the running beat and shown with its last run's state; it is disabled, run now (in its
 * history as the admin's), audited with before and after, and deleted.
 */
import { expect, rowWith, snap, test } from '../support/fixtures';

test.use({ role: 'admin' });

test('an admin sees the code schedule, creates one that runs, disables it, runs it now; audited', async ({
  page,
  marker,
  user,
}) => {
  const name = `e2e-every-second-${marker}`;
  await page.goto('/schedules');
  await expect(page.getByRole('heading', { level: 1, name: 'Schedules' })).toBeVisible();
  const table = page.getByRole('table', { name: 'Schedules' });
  const code = rowWith(table, 'e2e-nightly');
  await expect(code).toContainText('code');
  await expect(code).toContainText('At 04:30, Monday through Friday');
  await expect(code).toContainText('30 4 * * 1-5');

  await page.getByRole('button', { name: 'New schedule' }).click();
  const form = page.getByRole('form', { name: 'New schedule' });
  await form.getByLabel('Name', { exact: true }).fill(name);
  await form.getByLabel('Task', { exact: true }).fill('e2e.add');
  await form.getByLabel('Runs').selectOption('cron');
  await form.getByLabel(/^Cron/).fill('0 30 4 * * 1');
  await form.getByRole('button', { name: 'Create schedule' }).click();
  await expect(form.getByRole('alert')).toContainText('a cron expression has 5 fields');
  await expect(form.getByLabel(/^Cron/)).toHaveAttribute('aria-invalid', 'true');
  await snap(page, 'schedules-invalid');
  await expect(rowWith(table, name)).toHaveCount(0);

  await form.getByLabel('Runs').selectOption('interval');
  await form.getByLabel('Interval (seconds)').fill('1');
  await form.getByLabel('Args (JSON list)').fill('[2, 3]');
  await form.getByLabel('Reason (audit log)').fill('e2e schedule');
  await form.getByRole('button', { name: 'Create schedule' }).click();
  await expect(page.getByRole('status').filter({ hasText: `Created ${name}` })).toBeVisible();

  // The running beat picks it up within a tick and sends it every second; the page refreshes itself.
  const row = rowWith(table, name);
  await expect(row).toContainText('console');
  await expect(row).toContainText('Every second');
  await expect(page.getByLabel(`Last run of ${name}`)).toContainText('SUCCESS', { timeout: 30_000 });
  await snap(page, 'schedules');

  await row.getByRole('button', { name: `Disable ${name}` }).click();
  await expect(page.getByRole('status').filter({ hasText: `Disabled ${name}` })).toBeVisible();
  await expect(row).toContainText('disabled');
  await row.getByRole('button', { name: `Run ${name} now` }).click();
  const sent = page.getByRole('status').filter({ hasText: 'Sent e2e.add now as task' });
  await expect(sent).toBeVisible();
  const taskId = (await sent.textContent())!.replace(/^.*as task (\S+)\.$/, '$1');

  await row.getByRole('button', { name: `Run history of ${name}` }).click();
  const runs = page.getByRole('table', { name: `Runs of ${name}` });
  const manual = rowWith(runs, taskId);
  await expect(manual).toContainText(`${user.email} (run now)`);
  await expect(manual).toContainText('SUCCESS');
  await expect(
    runs
      .getByRole('row')
      .filter({ hasText: /^.*beat/ })
      .first(),
  ).toBeVisible();
  await snap(page, 'schedule-history');

  await page.goto(`/audit?action=schedule.disable`);
  const audit = page.getByRole('table', { name: 'Audit log' });
  const disabled = rowWith(audit, name);
  await expect(disabled).toContainText('Disable schedule');
  await expect(disabled).toContainText(user.email);
  await expect(disabled.getByRole('table', { name: 'Before and after' })).toContainText('enabled');
  await page.goto(`/audit?action=schedule.create`);
  await expect(rowWith(audit, name)).toContainText('e2e schedule');

  await page.goto('/schedules');
  page.once('dialog', (d) => void d.accept());
  await rowWith(table, name)
    .getByRole('button', { name: `Delete ${name}` })
    .click();
  await expect(page.getByRole('status').filter({ hasText: `Deleted ${name}` })).toBeVisible();
  await expect(rowWith(table, name)).toHaveCount(0);
});
