/**
 * Journey 6: bad settings never get saved. Each bad value gets its message under its own field and nothing
 * changes: no new settings version and no audit entry. The server refuses the same value sent straight to
 * the API, field path included.
 */
import { expect, snap, test } from '../support/fixtures';

test.use({ role: 'admin' });

interface Counts {
  version: number;
  versions: number;
  audit: number;
}

test('bad values get field errors and change nothing', async ({ page, api, run }) => {
  const admin = await api('admin');
  const counts = async (): Promise<Counts> => {
    const [settings, versions, audit] = await Promise.all([
      admin.query<{ current: { version: number } | null }>('settings.get'),
      admin.query<{ total: number }>('settings.versions', { page: 1, perPage: 1 }),
      admin.query<{ total: number }>('audit.find', { page: 1, perPage: 1 }),
    ]);
    return { version: settings.current?.version ?? 0, versions: versions.total, audit: audit.total };
  };
  const before = await counts();

  await page.goto('/settings');
  const form = page.getByRole('form', { name: 'Worker settings' });
  const save = form.getByRole('button', { name: `Save as version ${before.version + 1}` });
  await expect(save).toBeVisible();
  const saved = page.getByRole('status').filter({ hasText: 'Saved as version' });

  // Concurrency 0.
  const concurrency = form.getByLabel('Concurrency', { exact: true });
  const stored = await concurrency.inputValue();
  await concurrency.fill('0');
  await save.click();
  await expect(concurrency).toHaveAttribute('aria-invalid', 'true');
  await expect(concurrency).toHaveAccessibleDescription(/must be at least 1/);
  // Text is refused in words, not as zod's "expected number, received NaN".
  await concurrency.fill('abc');
  await save.click();
  await expect(concurrency).toHaveAccessibleDescription(/must be a whole number/);
  await expect(concurrency).not.toHaveAccessibleDescription(/NaN|Invalid input/);

  // A concurrency beyond what the workers' hosts hold asks first (the field shows what they have);
  // Cancel saves nothing.
  await expect(concurrency).toHaveAccessibleDescription(
    new RegExp(`${run.workerHostname} \\(\\S+\\): \\d+ CPUs?, [\\d.]+ [MG]B free of`),
  );
  const pool = form.getByLabel('Pool type');
  const storedPool = await pool.inputValue();
  await pool.selectOption('prefork');
  await concurrency.fill('1000');
  await save.click();
  const confirm = form.getByRole('group', { name: 'Confirm the concurrency' });
  await expect(confirm).toContainText(/1000 processes on \d+ CPUs? is more than 4 per CPU/);
  await confirm.getByRole('button', { name: 'Cancel' }).click();
  await expect(confirm).toHaveCount(0);
  await pool.selectOption(storedPool);
  await concurrency.fill(stored);

  // A soft time limit above the hard one.
  const hard = form.getByLabel('Hard time limit (s)', { exact: true });
  const soft = form.getByLabel('Soft time limit (s)', { exact: true });
  await hard.fill('10');
  await soft.fill('30');
  await save.click();
  await expect(soft).toHaveAttribute('aria-invalid', 'true');
  await expect(soft).toHaveAccessibleDescription(/the soft time limit must be below the hard time limit/);
  await expect(concurrency).not.toHaveAttribute('aria-invalid', 'true');
  await snap(page, 'settings-invalid');
  await hard.fill('');
  await soft.fill('');

  // A malformed per-task rate limit.
  await form.getByRole('button', { name: 'Add task limit' }).click();
  await form.getByLabel('Task name of row 1').fill('e2e.add');
  const rate = form.getByLabel('Rate limit of row 1');
  await rate.fill('ten per second');
  await save.click();
  await expect(rate).toHaveAttribute('aria-invalid', 'true');
  // The row's inputs are not tied to their messages (no aria-describedby): the message sits in the cell.
  await expect(
    form
      .getByRole('cell')
      .filter({ has: page.getByLabel('Rate limit of row 1') })
      .getByRole('alert'),
  ).toHaveText('must look like 10/s, 100/m or 1000/h');
  await expect(soft).not.toHaveAttribute('aria-invalid', 'true');

  await expect(saved).toHaveCount(0);
  await expect(save).toBeVisible();

  // The server refuses the same value from a client that skips the form, naming the field.
  const refused = await admin.tryMutation('settings.update', {
    expectedVersion: before.version,
    settings: { concurrency: 0 },
  });
  expect(refused.ok).toBe(false);
  if (!refused.ok) {
    expect(refused.error.status).toBe(400);
    expect(refused.error.issues).toContainEqual({
      path: ['settings', 'concurrency'],
      message: 'must be at least 1',
    });
  }

  expect(await counts(), 'no settings version and no audit entry was added').toEqual(before);
  await page.reload();
  await expect(form.getByRole('button', { name: `Save as version ${before.version + 1}` })).toBeVisible();
  await expect(concurrency).toHaveValue(stored);
});
