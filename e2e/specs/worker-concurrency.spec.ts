/**
 * Journey 4: an admin changes the workers' concurrency in the settings form; the running worker applies
 * the new version at once and the workers page (heartbeats and `inspect stats`) shows the new concurrency.
 */
import { expect, rowWith, snap, test } from '../support/fixtures';

test.use({ role: 'admin' });

test('a concurrency saved in the settings reaches the running worker', async ({
  page,
  run,
  marker,
  user,
  journal,
}) => {
  await page.goto('/workers');
  await expect(page.getByRole('heading', { level: 1, name: 'Workers' })).toBeVisible();
  const workerRow = rowWith(page.getByRole('table', { name: 'Workers' }), run.workerHostname);
  await expect(workerRow).toContainText('online');
  await expect(workerRow).toContainText(/async · \d+ max/);
  const running = Number(/async · (\d+) max/.exec(await workerRow.innerText())?.[1]);
  const target = running + 3;

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Settings' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
  const form = page.getByRole('form', { name: 'Worker settings' });
  const save = form.getByRole('button', { name: /^Save as version \d+$/ });
  const version = Number(/(\d+)$/.exec(await save.innerText())?.[1]);
  const concurrency = form.getByLabel('Concurrency', { exact: true });
  const stored = await concurrency.inputValue();
  await concurrency.fill(String(target));
  const reason = `e2e concurrency ${marker}`;
  await form.getByLabel('Reason (optional, kept in the audit log)').fill(reason);
  await save.click();

  await expect(form.getByRole('status')).toHaveText(
    `Saved as version ${version}. 1 of 1 running workers applied it.`,
  );
  await expect(form.getByRole('button', { name: `Save as version ${version + 1}` })).toBeVisible();
  await expect(concurrency).toHaveValue(String(target));
  const versions = page.getByRole('table', { name: 'Settings versions' });
  await expect(rowWith(versions, reason)).toContainText(user.email);
  await expect(
    rowWith(page.getByRole('table', { name: 'Settings version per worker' }), run.workerHostname),
  ).toContainText(`${version} (current)`);
  await snap(page, 'settings');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Workers' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Workers' })).toBeVisible();
  await expect(workerRow).toContainText(`async · ${target} max`);
  await expect(workerRow).not.toContainText('behind');
  await snap(page, 'workers');

  journal.write('settings', { version, stored, target, reason, actor: user.email });
});
