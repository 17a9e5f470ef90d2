/**
 * Exports: a viewer downloads the filtered task list as CSV from the Tasks page (every matching task, not
 * one page), and the audit log as JSON from the Audit page.
 */
import { readFile } from 'node:fs/promises';
import { expect, test } from '../support/fixtures';

test.use({ role: 'viewer' });

test('a viewer exports the filtered task list as CSV and the audit log as JSON', async ({ page, queue }) => {
  const ids = [await queue.send('e2e.add', [40, 2]), await queue.send('e2e.add', [1, 1])];
  // The monitor folds the tasks' events into the index in its own time.
  await expect
    .poll(async () => {
      const res = await page.request.get('/api/export/tasks?format=json&name=e2e.add');
      const rows = (await res.json()) as { id: string }[];
      return ids.every((id) => rows.some((r) => r.id === id));
    })
    .toBe(true);
  await page.goto(`/tasks?name=e2e.add&perPage=10`);
  await expect(page.getByRole('table', { name: 'Tasks' })).toBeVisible();

  const [csv] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export tasks as CSV' }).click(),
  ]);
  expect(csv.suggestedFilename()).toMatch(/^lovage-tasks-.*\.csv$/);
  const text = await readFile((await csv.path())!, 'utf8');
  const lines = text.trim().split('\n');
  expect(lines[0]).toMatch(/^id,name,state,queue,worker,/);
  for (const id of ids) expect(text).toContain(id);
  // Only the filtered task name.
  expect(lines.slice(1).every((l) => l.split(',')[1] === 'e2e.add')).toBe(true);

  await page.goto('/audit');
  const [json] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'Export audit log as JSON' }).click(),
  ]);
  expect(json.suggestedFilename()).toMatch(/^lovage-audit-.*\.json$/);
  expect(Array.isArray(JSON.parse(await readFile((await json.path())!, 'utf8')))).toBe(true);
});
