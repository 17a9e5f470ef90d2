/**
 * Replay with edits: a finished task's arguments shown as JSON, a bad edit refused under its field, then
 * the edited task sent as a new task linked to the old one, which runs with the new arguments. An admin
 * (not the shared operator, whose actions the audit journey counts).
 */
import { indexedState } from '../support/console-api';
import { detailValue, expect, test } from '../support/fixtures';

test.use({ role: 'admin' });

test('a finished task replayed with edited arguments runs them as a new, linked task', async ({
  page,
  queue,
  api,
}) => {
  const id = await queue.send('e2e.add', [2, 3]);
  const admin = await api('admin');
  await expect.poll(() => indexedState(admin, id), { message: 'the task in the index' }).toBe('SUCCESS');

  await page.goto(`/tasks/${id}`);
  await page.getByRole('button', { name: 'Replay with edits…' }).click();
  const form = page.getByRole('form', { name: 'Replay with edits' });
  const args = form.getByLabel('Arguments (JSON array)');
  await expect(args).toHaveValue('[\n  2,\n  3\n]');
  await args.fill('[40, 2');
  await form.getByRole('button', { name: 'Replay', exact: true }).click();
  await expect(form.getByRole('alert')).toContainText('is not JSON');
  await expect(args).toHaveAttribute('aria-invalid', 'true');

  await args.fill('[40, 2]');
  await form.getByLabel('Priority (0-9)').fill('5');
  await form.getByRole('button', { name: 'Replay', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Replayed as task' })).toBeVisible();
  await page.getByRole('link', { name: 'Open the new task' }).click();
  await expect(detailValue(page, 'State')).toHaveText('SUCCESS');
  await expect(page.getByLabel('Result', { exact: true })).toContainText('42');
  await expect(page.getByRole('link', { name: id })).toBeVisible();
});
