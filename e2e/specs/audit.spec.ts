/**
 * Journey 5: the audit log shows what the other journeys did (project `actions`, which this one depends on):
 * who retried and revoked the tasks, deleted the dead letter and changed the settings, with the reason and the before/after
 * diff, each target a link to its page; and the users the admin created.
 */
import type { Locator, Page } from '@playwright/test';
import { expect, snap, test } from '../support/fixtures';

interface RetryDone {
  failedId: string;
  newId: string;
  reason: string;
  actor: string;
}
interface RevokeDone {
  id: string;
  reason: string;
  actor: string;
}
interface DeadLetterDone {
  target: string;
  actor: string;
}
interface SettingsDone {
  version: number;
  stored: string;
  target: number;
  reason: string;
  actor: string;
}

/** The audit table's own rows (each holds a nested before/after table). */
const entries = (page: Page): Locator =>
  page.getByRole('table', { name: 'Audit log' }).locator(':scope > tbody > tr');

/** One changed field of an entry's diff: its name, the value before and after (JSON). */
const diffRow = (entry: Locator, field: string): Locator =>
  entry
    .getByRole('table', { name: 'Before and after' })
    .getByRole('row')
    .filter({ has: entry.page().getByRole('cell', { name: field, exact: true }) });

/** The fields an entry's action left as they were, shown as context under the diff. */
const unchanged = (entry: Locator): Locator => entry.getByLabel('Unchanged');

test.describe('as a viewer', () => {
  test.use({ role: 'viewer' });

  test('retry, revoke and the settings change are in the audit log with their actor and diff', async ({
    page,
    journal,
    run,
  }) => {
    const retry = journal.read<RetryDone>('retry');
    const revoke = journal.read<RevokeDone>('revoke');
    const settings = journal.read<SettingsDone>('settings');
    const deadLetter = journal.read<DeadLetterDone>('deadletter');

    await page.goto('/audit');
    await expect(page.getByRole('heading', { level: 1, name: 'Audit log' })).toBeVisible();

    const retried = entries(page).filter({ hasText: retry.failedId });
    await expect(retried).toHaveCount(1);
    await expect(retried).toContainText('Retry task');
    await expect(retried).toContainText(retry.actor);
    await expect(retried).toContainText(retry.reason);
    await expect(retried).toContainText('ok');
    await expect(diffRow(retried, 'newTaskId')).toContainText(`"${retry.newId}"`);
    await expect(diffRow(retried, 'newTaskId')).toContainText('null');
    await expect(unchanged(retried)).toContainText('state "FAILURE"');
    // Targets are links to what they name.
    await expect(retried.getByRole('link', { name: retry.failedId })).toHaveAttribute(
      'href',
      `/tasks/${retry.failedId}`,
    );

    const revoked = entries(page).filter({ hasText: revoke.id });
    await expect(revoked).toHaveCount(1);
    await expect(revoked).toContainText('Revoke task');
    await expect(revoked).toContainText(revoke.actor);
    await expect(revoked).toContainText(revoke.reason);
    await expect(diffRow(revoked, 'revoked').getByRole('cell')).toHaveText(['revoked', 'false', 'true']);
    await expect(diffRow(revoked, 'terminate').getByRole('cell')).toHaveText(['terminate', '', 'false']);
    await expect(unchanged(revoked)).toContainText('state "RECEIVED"');

    const deleted = entries(page).filter({ hasText: deadLetter.target });
    await expect(deleted).toHaveCount(1);
    await expect(deleted).toContainText('Delete dead letter');
    await expect(deleted).toContainText(deadLetter.actor);
    await expect(diffRow(deleted, 'deadLetter').getByRole('cell')).toHaveText([
      'deadLetter',
      'true',
      'false',
    ]);

    const changed = entries(page).filter({ hasText: settings.reason });
    await expect(changed).toHaveCount(1);
    await expect(changed).toContainText('Change settings');
    await expect(changed).toContainText(`version ${settings.version}`);
    await expect(changed).toContainText(settings.actor);
    const concurrency = diffRow(changed, 'concurrency').getByRole('cell');
    await expect(concurrency).toHaveText(['concurrency', settings.stored, String(settings.target)]);
    await snap(page, 'audit');

    // Filtering by actor keeps the operator's three actions only.
    const filters = page.getByRole('form', { name: 'Audit filters' });
    await filters.getByLabel('Actor').fill(retry.actor);
    // No Apply button: the list follows the filter once typing pauses.
    await expect(page).toHaveURL(/[?&]actor=/);
    await expect(entries(page)).toHaveCount(3);
    await expect(entries(page).filter({ hasText: retry.failedId })).toHaveCount(1);
    await expect(entries(page).filter({ hasText: deadLetter.target })).toHaveCount(1);
    await expect(entries(page).filter({ hasText: revoke.id })).toHaveCount(1);
    expect(run.users.operator.email).toBe(retry.actor);
  });
});

test.describe('as an admin', () => {
  test.use({ role: 'admin' });

  test('the users page lists the seeded users, whose creation is audited', async ({ page, run }) => {
    const { admin, operator, viewer } = run.users;
    await page.goto('/users');
    await expect(page.getByRole('heading', { level: 1, name: 'Users' })).toBeVisible();
    await expect(page.getByRole('combobox', { name: `Role of ${operator.email}` })).toHaveValue('operator');
    await expect(page.getByRole('combobox', { name: `Role of ${viewer.email}` })).toHaveValue('viewer');
    await expect(page.getByRole('combobox', { name: `Role of ${admin.email}` })).toHaveValue('admin');
    await snap(page, 'users');

    await page.goto('/audit?action=user.create');
    const created = entries(page).filter({ hasText: operator.email });
    await expect(created).toHaveCount(1);
    await expect(created).toContainText('Create user');
    await expect(created).toContainText(admin.email);
    await expect(diffRow(created, 'role')).toContainText('"operator"');
  });
});
