/**
 * Journey 6: a message no worker can run (a task nobody registered) lands in the dead letters with its
 * reason; an operator finds it on the Dead letters page, opens the raw message and deletes it.
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
