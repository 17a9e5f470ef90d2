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
  // Two clicks before the page can redraw (a busy machine) send one save; they used to send two: one
  // saved, the other said "Not saved".
  const updates: string[] = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().includes('settings.update')) updates.push(r.url());
  });
  await save.evaluate((button: { click(): void }) => {
    button.click();
    button.click();
  });

  await expect(form.getByRole('status')).toHaveText(
    `Saved as version ${version}. 1 of 1 running workers applied it.`,
  );
  await expect(form.getByRole('button', { name: `Save as version ${version + 1}` })).toBeVisible();
  expect(updates).toHaveLength(1);
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

test('the pool box refuses bad sizes and asks before a large change', async ({ page, run }) => {
  const host = run.workerHostname;
  await page.goto('/workers');
  const workerRow = rowWith(page.getByRole('table', { name: 'Workers' }), host);
  await expect(workerRow).toContainText(/async · \d+ max/);
  const running = Number(/async · (\d+) max/.exec(await workerRow.innerText())?.[1]);
  const box = page.getByLabel(`Processes to add or remove on ${host}`);
  const grow = page.getByRole('button', { name: `Grow pool of ${host}` });

  // Each bad value gets its message under the box and nothing is sent.
  for (const [typed, message] of [
    ['0', 'must be at least 1'],
    ['-1', 'must be at least 1'],
    ['', 'enter a whole number of processes'],
    ['1.5', 'must be a whole number'],
  ] as const) {
    await box.fill(typed);
    await grow.click();
    await expect(box).toHaveAttribute('aria-invalid', 'true');
    await expect(box).toHaveAccessibleDescription(message);
  }
  await expect(page.getByRole('status').filter({ hasText: 'pool will' })).toHaveCount(0);

  // Backspace empties the box: typing 9 then gives 9, not 19.
  await box.fill('1');
  await box.press('Backspace');
  await box.pressSequentially('9');
  await expect(box).toHaveValue('9');
  await expect(box).toHaveAttribute('aria-invalid', 'false');

  // +9 is a large change: it waits for a second click naming the new size; Cancel sends nothing.
  await grow.click();
  const confirm = page.getByRole('group', { name: `Confirm the new pool size of ${host}` });
  await expect(confirm).toContainText(`Grow the pool from ${running} to ${running + 9}?`);
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await expect(confirm).toHaveCount(0);
  await page.reload();
  await expect(workerRow).toContainText(`async · ${running} max`);
  await expect(workerRow).toContainText(/\d+ CPUs?, [\d.]+ [MG]B free of [\d.]+ [MG]B/);

  await box.fill('9');
  await grow.click();
  await confirm.getByRole('button', { name: `Grow to ${running + 9}` }).click();
  await expect(page.getByRole('status').filter({ hasText: 'pool will' })).toHaveText(
    `${host}: pool will grow`,
  );
  await expect(workerRow).toContainText(`async · ${running + 9} max`);
  await page.getByRole('button', { name: `Shrink pool of ${host}` }).click();
  await confirm.getByRole('button', { name: `Shrink to ${running}` }).click();
  await expect(workerRow).toContainText(`async · ${running} max`);
});

test('a live limit no worker applied is a failure; one applied shows on the worker', async ({
  page,
  run,
}) => {
  await page.goto('/workers');
  const form = page.getByRole('form', { name: "Change a task's limits now" });
  const taskName = form.getByLabel('Task name');
  const rate = form.getByLabel('Rate (10/s, 100/m; empty: none)');
  const apply = form.getByRole('button', { name: 'Apply now' });

  await apply.click();
  await expect(taskName).toHaveAccessibleDescription('enter a task name');

  await taskName.fill('e2e.no-such-task');
  await rate.fill('5/s');
  await apply.click();
  await expect(form.getByRole('alert')).toHaveText(
    `Not applied: 0 of 1 workers applied it; failed: ${run.workerHostname} (unknown task).`,
  );

  await taskName.fill('e2e.add');
  await rate.fill('1000/s');
  await apply.click();
  await expect(form.getByRole('status')).toHaveText('1 of 1 workers applied it.');
  const limits = page.getByRole('list', { name: `Task limits of ${run.workerHostname}` });
  await expect(limits).toContainText('e2e.add: rate 1000/s');
  await snap(page, 'workers-limits');

  // Back to no limit, so the other journeys run e2e.add as before.
  await rate.fill('');
  await apply.click();
  await expect(form.getByRole('status')).toHaveText('1 of 1 workers applied it.');
  await expect(limits).toHaveCount(0);
});
