/**
 * Journey 6: a message no worker can run (a task nobody registered) lands in the dead letters with its
 * reason; the task's page says it was REJECTED and links to the letter; on the Dead letters page (also
 * 390 px wide) Requeue and Delete are in sight; the operator opens the raw message and deletes it.
 */
import { expect, snap, test } from '../support/fixtures';

test.use({ role: 'operator' });

test('a message for an unknown task shows in the dead letters with its reason and is deleted', async ({
  page,
  queue,
  run,
  marker,
  user,
  journal,
}) => {
  const id = await queue.send('e2e.nobody-runs-this', [marker]);
  await page.goto(`/tasks/${id}`);
  const fate = page.getByRole('status').filter({ hasText: 'Rejected by the worker' });
  await expect(fate).toContainText('unregistered task "e2e.nobody-runs-this"');
  await fate.getByRole('link', { name: /^dead letter / }).click();
  await expect(page).toHaveURL(/[?&]letter=/);
  const linked = page.getByRole('table').getByRole('row').filter({ hasText: id });
  await expect(linked.locator('[aria-current="true"]')).toHaveCount(1);
  for (const width of [390, 1280]) {
    await page.setViewportSize({ width, height: 800 });
    for (const name of [/^Requeue dead letter /, /^Delete dead letter /]) {
      await expect(linked.getByRole('button', { name })).toBeInViewport({ ratio: 1 });
    }
    if (width === 390) await snap(page, 'dead-letters-390');
  }

  await page.goto('/dead-letters');
  await expect(page.getByRole('heading', { level: 1, name: 'Dead letters' })).toBeVisible();
  await page
    .getByRole('group', { name: 'Queues with dead letters' })
    .getByRole('button', { name: new RegExp(`^${run.queue} `) })
    .click();
  await expect(page).toHaveURL(new RegExp(`[?&]queue=${encodeURIComponent(run.queue)}`));

  const table = page.getByRole('table', { name: `Dead letters of ${run.queue}` });
  const row = table.getByRole('row').filter({ hasText: id });
  await expect(row).toContainText('e2e.nobody-runs-this');
  await expect(row).toContainText('unregistered task "e2e.nobody-runs-this"');
  await row.getByText('raw, as the broker held it').click();
  // The decoded body first (its arguments hold the marker), then the envelope as stored.
  await expect(row.locator('pre')).toHaveCount(2);
  await expect(row.locator('pre').first()).toContainText(marker);
  await snap(page, 'dead-letters');

  const del = row.getByRole('button', { name: /^Delete dead letter / });
  const letterId = (await del.getAttribute('aria-label'))!.replace('Delete dead letter ', '');
  page.once('dialog', (d) => void d.accept());
  await del.click();
  await expect(page.getByRole('status').filter({ hasText: 'Deleted' })).toHaveText('Deleted for good.');
  await expect(table.getByRole('row').filter({ hasText: id })).toHaveCount(0);
  journal.write('deadletter', { target: `${run.queue} ${letterId}`, actor: user.email });
});
