/**
 * Journey 3: a task scheduled an hour ahead (held by the worker, not run) is revoked from its detail page:
 * the page says so, the running worker has it flagged, and the task shows as REVOKED.
 */
import { indexedState } from '../support/console-api';
import { detailValue, expect, snap, test } from '../support/fixtures';

test.use({ role: 'operator' });
test.describe.configure({ mode: 'serial' });

interface RevokeDone {
  id: string;
  reason: string;
  actor: string;
}

test('a scheduled task is revoked from its detail page', async ({
  page,
  queue,
  api,
  marker,
  user,
  journal,
  run,
}) => {
  const id = await queue.send('e2e.add', [2, 3], { countdown: 3600 });
  // Seeded, not clicked: wait until the worker has received it and the monitor indexed it.
  const operator = await api('operator');
  await expect
    .poll(() => indexedState(operator, id), { message: 'the task is in the index' })
    .toBe('RECEIVED');

  await page.goto(`/tasks/${id}`);
  await expect(page.getByRole('heading', { level: 1, name: 'e2e.add' })).toBeVisible();
  await expect(detailValue(page, 'State')).toHaveText('RECEIVED');
  await expect(detailValue(page, 'ETA')).not.toHaveText('—');

  const reason = `e2e revoke ${marker}`;
  await page.getByLabel('Reason (optional, kept in the audit log)').fill(reason);
  await page.getByRole('button', { name: 'Revoke', exact: true }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Revoked' })).toHaveText(
    'Revoked: no worker will start it.',
  );
  // The reason was for this revoke: the next action starts with an empty one.
  await expect(page.getByLabel('Reason (optional, kept in the audit log)')).toHaveValue('');
  journal.write('revoke', { id, reason, actor: user.email } satisfies RevokeDone);
  await snap(page, 'task-detail-revoked');

  // The running worker got the broadcast: it will discard the task instead of running it.
  const revoked = await queue.app.control.inspect('revoked', { timeout: 2 });
  expect(Object.keys(revoked)).toEqual([run.workerHostname]);
  expect(revoked[run.workerHostname]).toContain(id);
});

test('the revoked scheduled task shows as REVOKED at once, not at its ETA', async ({ page, journal }) => {
  const { id } = journal.read<RevokeDone>('revoke');
  await page.goto(`/tasks/${id}`);
  await expect(detailValue(page, 'Id')).toHaveText(id);
  await expect(detailValue(page, 'State')).toHaveText('REVOKED', { timeout: 5000 });
  await expect(page.getByRole('list', { name: 'State timeline' })).toContainText(/revoked/i);
  // A task that ended has nothing left to revoke.
  await expect(page.getByRole('button', { name: 'Revoke', exact: true })).toBeDisabled();
  await expect(page.getByRole('button', { name: 'Revoke and terminate' })).toBeDisabled();
});
