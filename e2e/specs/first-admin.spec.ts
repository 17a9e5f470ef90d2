/**
 * Journey 0: the first start. A console with no user prints a one-time setup link; a wrong token is refused,
 * a bad form value gets a field error and creates nothing, the right values create the admin and open the
 * console signed in; the link then no longer works. This console is the spec's own (its own PGlite
 * folder, the same build and Redis prefix as the shared one), because the shared console has users already.
 */
import { readFileSync } from 'node:fs';
import { withOwnConsole } from '../support/console-process';
import { expect, snap, test } from '../support/fixtures';
import { waitFor } from '../support/processes';

test('the setup link printed on first start creates the first admin and signs them in, once', async ({
  browser,
  run,
}) => {
  test.setTimeout(120_000);
  await withOwnConsole(run, 'first-admin', async ({ web, baseURL }) => {
    const logFile = web.logFile;
    const link = await waitFor(
      'the setup link in the console log',
      async () => readFileSync(logFile, 'utf8').match(/http:\/\/\S+\/setup\?token=[\w-]+/)?.[0] ?? null,
      { timeoutMs: 30_000, processes: [web] },
    );
    expect(link.startsWith(`${baseURL}/setup?token=`)).toBe(true);

    const context = await browser.newContext({ baseURL });
    const page = await context.newPage();

    // A made-up token is refused.
    await page.goto('/setup?token=not-the-printed-one');
    await expect(page.getByRole('alert').filter({ hasText: 'setup link' })).toContainText(
      'This setup link is used, expired or wrong.',
    );

    await page.goto(link);
    const form = page.getByRole('form', { name: 'Create the first admin' });
    const email = `first-admin-${run.runId}@e2e.test`;
    await form.getByLabel('E-mail').fill(email);
    await form.getByLabel('Name').fill('First Admin');
    await form.getByLabel('Password (12+ characters)').fill('too-short');
    await form.getByRole('button', { name: 'Create admin' }).click();
    await expect(form.getByLabel('Password (12+ characters)')).toHaveAttribute('aria-invalid', 'true');
    await expect(form.locator('#password-error')).toHaveText('must be at least 12 characters');
    await snap(page, 'setup-invalid');
    // Nothing was created: the link still opens the form.
    await page.reload();
    await expect(form).toBeVisible();

    await form.getByLabel('E-mail').fill(email);
    await form.getByLabel('Name').fill('First Admin');
    await form.getByLabel('Password (12+ characters)').fill('a-long-enough-password');
    await form.getByRole('button', { name: 'Create admin' }).click();
    await expect(page).toHaveURL(/\/tasks$/);
    const sidebar = page.getByRole('complementary');
    await expect(sidebar).toContainText(email);
    await expect(sidebar.getByLabel('Your role')).toHaveText('admin');
    await snap(page, 'first-admin-tasks');

    // Used once, the link only points at the sign-in page.
    const other = await browser.newContext({ baseURL });
    const again = await other.newPage();
    await again.goto(link);
    await expect(again.getByRole('status')).toContainText('The console has users already.');
    await expect(again.getByRole('form', { name: 'Create the first admin' })).toHaveCount(0);
    await other.close();
    await context.close();
  });
});
