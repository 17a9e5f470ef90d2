/**
 * The tasks page as a newcomer meets it, on a 1440 px screen and on a 390 px phone: the filters fit, apply
 * as they change (no Apply button), a state chip in the list filters by its state, times read the same
 * everywhere, and on the phone the navigation and the tables stay usable without the page scrolling
 * sideways.
 */
import type { Page } from '@playwright/test';
import { expect, snap, test } from '../support/fixtures';

test.use({ role: 'viewer' });

/** Whether the page itself scrolls sideways (a table scrolling inside its own box is fine). */
const pageOverflows = (page: Page) =>
  page.locator('html').evaluate((html) => html.scrollWidth > html.clientWidth);

test('at 1440 px the filters fit and apply as they change; a state chip filters the list', async ({
  page,
  queue,
  marker,
}) => {
  const id = await queue.send('e2e.add', [2, 3], { taskId: `layout-${marker}` });
  await page.goto('/tasks');
  const table = page.getByRole('table', { name: 'Tasks' });
  await expect(table.getByRole('row').filter({ hasText: id })).toContainText('SUCCESS', { timeout: 30_000 });

  const filters = page.getByRole('form', { name: 'Task filters' });
  const fits = await filters.evaluate((form) => form.scrollWidth <= form.clientWidth);
  expect(fits).toBe(true);
  expect(await pageOverflows(page)).toBe(false);
  await expect(filters.getByRole('button', { name: /apply/i })).toHaveCount(0);

  // Times: one format, the exact ISO time in the tooltip.
  const updated = table.getByRole('row').filter({ hasText: id }).locator('time');
  await expect(updated).toHaveText(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(.+\)$/);
  await expect(updated).toHaveAttribute('title', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  await snap(page, 'tasks-1440');

  // Typing filters once typing pauses: no click.
  await filters.getByLabel('Task id').fill(id);
  await expect(page).toHaveURL(new RegExp(`[?&]id=${id}`));
  await expect(table.getByRole('row')).toHaveCount(2); // the header and the task

  // The row's state chip filters by its state; clicking it again shows every state.
  const chip = table.getByRole('button', { name: 'SUCCESS' });
  await chip.click();
  await expect(page).toHaveURL(/[?&]state=SUCCESS/);
  await expect(filters.getByLabel('State')).toHaveValue('SUCCESS');
  await expect(chip).toHaveAttribute('aria-pressed', 'true');
  await chip.click();
  await expect(page).not.toHaveURL(/[?&]state=/);

  await filters.getByRole('button', { name: 'Clear filters' }).click();
  await expect(page).not.toHaveURL(/[?&]id=/);
  await expect(filters.getByLabel('Task id')).toHaveValue('');
});

test('at 390 px the navigation and the tables are usable without the page scrolling sideways', async ({
  page,
}) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto('/tasks');
  await expect(page.getByRole('heading', { level: 1, name: 'Tasks' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Tasks' })).toBeVisible();
  expect(await pageOverflows(page)).toBe(false);
  await snap(page, 'tasks-390');

  const nav = page.getByRole('navigation', { name: 'Main' });
  const audit = nav.getByRole('link', { name: 'Audit log' });
  await audit.scrollIntoViewIfNeeded();
  await audit.click();
  await expect(page).toHaveURL(/\/audit$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Audit log' })).toBeVisible();
  await expect(page.getByRole('table', { name: 'Audit log' })).toBeVisible();
  expect(await pageOverflows(page)).toBe(false);
  await snap(page, 'audit-390');
});
