/**
 * Journey 2: a task that fails shows up in the open tasks list by itself (the live subscription, no reload),
 * its detail shows the exception, and Retry sends it again as a new task, linked to the old one as its
 * child, which succeeds.
 */
import { detailValue, expect, rowWith, snap, test } from '../support/fixtures';

test.use({ role: 'operator' });

/** A mark on the tasks page's document: it is gone if anything reloads the page. */
const markPage = () => {
  (globalThis as { e2eSamePage?: boolean }).e2eSamePage = true;
};
const pageIsMarked = () => (globalThis as { e2eSamePage?: boolean }).e2eSamePage === true;

test('a failing task appears live, and its retry from the console succeeds', async ({
  page,
  queue,
  marker,
  user,
  journal,
}) => {
  // The list's first answer has arrived before the task exists: only a push can bring its row in (the list
  // is not polled).
  const answered = (procedure: string) =>
    page.waitForResponse((r) => r.url().includes('/api/trpc/') && r.url().includes(procedure));
  const listed = answered('tasks.find');
  const charted = answered('tasks.activity');
  await page.goto('/tasks');
  await Promise.all([listed, charted]);
  await expect(page.getByRole('heading', { level: 1, name: 'Tasks' })).toBeVisible();
  await expect(page.getByRole('status', { name: 'Live updates on' })).toBeVisible();
  const table = page.getByRole('table', { name: 'Tasks' });
  // The activity chart counts what finished in the last hour (other journeys' tasks may be in it).
  const chart = page.getByRole('img', { name: /tasks? finished in the last hour$/ });
  const finished = async () => Number((await chart.getAttribute('aria-label'))?.split(' ')[0]);
  await expect(chart).toBeVisible();
  const finishedBefore = await finished();
  await page.evaluate(markPage);

  const failedId = await queue.send('e2e.flaky', [marker]);
  const row = rowWith(table, failedId);
  await expect(row).toBeVisible();
  await expect(row.getByRole('link', { name: 'e2e.flaky' })).toBeVisible();
  await expect(row).toContainText('FAILURE');
  await expect(row).toContainText(marker);
  expect(await page.evaluate(pageIsMarked), 'the row arrived without a reload').toBe(true);
  // The failure is in the chart too, pushed the same way.
  await expect.poll(finished, { message: 'the chart counts the failure' }).toBe(finishedBefore + 1);
  await snap(page, 'tasks');

  await row.getByRole('link', { name: 'e2e.flaky' }).click();
  await expect(page).toHaveURL(new RegExp(`/tasks/${failedId}$`));
  await expect(page.getByRole('heading', { level: 1, name: 'e2e.flaky' })).toBeVisible();
  await expect(detailValue(page, 'State')).toHaveText('FAILURE');
  await expect(page.getByLabel('Exception', { exact: true })).toContainText(
    `${marker}: fails until retried from the console`,
  );
  await snap(page, 'task-detail-failed');

  const reason = `e2e retry ${marker}`;
  await page.getByLabel('Reason (optional, kept in the audit log)').fill(reason);
  await page.getByRole('button', { name: 'Retry', exact: true }).click();
  const outcome = page.getByRole('status').filter({ hasText: 'Sent again as task' });
  await expect(outcome).toBeVisible();
  const newId = /Sent again as task ([\w-]+)\./.exec(await outcome.innerText())?.[1];
  expect(newId, 'the outcome names the new task').toBeTruthy();
  expect(newId).not.toBe(failedId);

  await outcome.getByRole('button', { name: 'Open the new task' }).click();
  await expect(page).toHaveURL(new RegExp(`/tasks/${newId}$`));
  await expect(detailValue(page, 'Id')).toHaveText(newId!);
  await expect(detailValue(page, 'State')).toHaveText('SUCCESS');
  await expect(page.getByLabel('Result', { exact: true })).toContainText(`${marker}: recovered`);
  const family = page.getByRole('region', { name: 'Parent and children' });
  await expect(family).toContainText(failedId);
  await snap(page, 'task-detail-retried');

  // The old task lists the retry among its children.
  await family.getByRole('link', { name: 'e2e.flaky' }).click();
  await expect(page).toHaveURL(new RegExp(`/tasks/${failedId}$`));
  await expect(page.getByRole('list', { name: 'Children' })).toContainText(newId!);

  journal.write('retry', { failedId, newId, reason, actor: user.email });
});
