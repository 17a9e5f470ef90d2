/**
 * Journey: a chain and a group sent with the runtime's low-level sendTask (the chain's second step sent by the
 * worker, the group's members marked with their group) show on a task's page as one tree with each task's
 * state; Revoke group (confirmed) revokes the members still waiting, live, and the audit log names the group
 * and every task. An operator of its own, so the audit journey's count of the shared operator's actions holds.
 */
import type { Signature } from '@lovage/runtime';
import { indexedState } from '../support/console-api';
import { expect, snap, test } from '../support/fixtures';

test.use({ role: null });

const step = (task: string, args: unknown[]): Signature => ({
  task,
  args,
  kwargs: {},
  options: {},
  subtask_type: null,
  immutable: false,
});

test('a workflow shows as a tree with states, and its group is revoked from it', async ({
  page,
  queue,
  api,
  seedUser,
  marker,
}) => {
  const operator = await seedUser('operator');
  // chain(add(1, 2), add(10)): the worker sends the second step, rooted at the first.
  const root = await queue.send('e2e.add', [1, 2], { embed: { chain: [step('e2e.add', [10])] } });
  // group(fail, add, add) sent from the root: the adds wait an hour (held by the worker, revocable).
  const group = `group-${marker}`;
  const from = { parentId: root, rootId: root, group };
  const failing = await queue.send('e2e.fail', [`${marker}: member fails`], { ...from, groupIndex: 0 });
  const waiting = [
    await queue.send('e2e.add', [3, 3], { ...from, groupIndex: 1, countdown: 3600 }),
    await queue.send('e2e.add', [4, 4], { ...from, groupIndex: 2, countdown: 3600 }),
  ];
  // Seeded, not clicked: wait until the monitor has indexed where each one is.
  const admin = await api('admin');
  await expect
    .poll(async () => Promise.all([failing, ...waiting].map((id) => indexedState(admin, id))), {
      message: 'the group members in the index',
    })
    .toEqual(['FAILURE', 'RECEIVED', 'RECEIVED']);

  await page.goto(`/sign-in?next=${encodeURIComponent(`/tasks/${failing}`)}`);
  const form = page.getByRole('form', { name: 'Sign in' });
  await form.getByLabel('E-mail').fill(operator.email);
  await form.getByLabel('Password').fill(operator.password);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'e2e.fail' })).toBeVisible();

  const workflow = page.getByRole('region', { name: 'Workflow' });
  const tree = workflow.getByRole('list', { name: 'Workflow' });
  // The root, the chain's second step (sent by the worker) under it, and the group boxed beside it.
  const rootRow = tree.locator(':scope > li > div').first();
  await expect(rootRow.getByRole('link', { name: 'e2e.add' })).toHaveAttribute('href', `/tasks/${root}`);
  await expect(rootRow).toContainText('SUCCESS');
  const sentByRoot = tree.getByRole('list', { name: 'Sent by e2e.add' }).first();
  const chainStep = sentByRoot.locator(':scope > li').filter({ hasNot: page.getByRole('group') });
  await expect(chainStep.getByRole('link', { name: 'e2e.add' })).toHaveCount(1);
  await expect(chainStep).toContainText('SUCCESS');
  const members = sentByRoot.getByRole('list', { name: `Members of group ${group}` });
  await expect(members.getByRole('listitem')).toHaveCount(3);
  // The page's own task is marked, and is not a link to itself.
  await expect(members.getByText('e2e.fail (this task)')).toHaveAttribute('aria-current', 'page');
  await expect(members.getByRole('listitem').filter({ hasText: 'e2e.fail' })).toContainText('FAILURE');
  await expect(members.getByRole('listitem').filter({ hasText: 'RECEIVED' })).toHaveCount(2);
  const box = sentByRoot.getByRole('group', { name: `Group ${group}` });
  await expect(box).toContainText('3 members · 1 failed');
  await snap(page, 'task-detail-workflow');

  // Keyboard: the links and the group's buttons are reached with Tab.
  await members.getByRole('link').first().focus();
  await expect(members.getByRole('link').first()).toBeFocused();

  page.once('dialog', (dialog) => {
    expect(dialog.message()).toBe(`Revoke all 3 tasks of group ${group}?`);
    void dialog.accept();
  });
  await box.getByRole('button', { name: 'Revoke group' }).click();
  await expect(box.getByRole('status')).toHaveText('Revoked the 3 tasks of the group.');
  // Live: the waiting members turn REVOKED with no reload.
  await expect(members.getByRole('listitem').filter({ hasText: 'REVOKED' })).toHaveCount(2);
  await expect(box.getByRole('button', { name: 'Revoke group' })).toBeDisabled();
  await snap(page, 'task-detail-workflow-revoked');

  // The audit log: one entry naming the group and each of its tasks.
  await page.goto('/audit');
  const entry = page
    .getByRole('table', { name: 'Audit log' })
    .locator(':scope > tbody > tr')
    .filter({ hasText: group });
  await expect(entry).toHaveCount(1);
  await expect(entry).toContainText('Revoke group');
  await expect(entry).toContainText(operator.email);
  for (const id of [failing, ...waiting]) await expect(entry).toContainText(id);
});
