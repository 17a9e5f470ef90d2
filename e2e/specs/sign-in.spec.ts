/**
 * Journey 1: signing in. A wrong password is refused with a message and leaves the browser signed out; the
 * right one lands on the tasks page as that user; signing out ends the session. A client that writes its own
 * X-Forwarded-For is still one client for the per-client sign-in limit. A user disabled while their tab is
 * open is sent to sign-in by the tab's next request.
 */
import { ConsoleApi } from '../support/console-api';
import { withOwnConsole } from '../support/console-process';
import { expect, snap, test } from '../support/fixtures';

/** The sign-in page, with the page asked for to come back to (`?next=`). */
const SIGN_IN = /\/sign-in(\?next=[^&]+)?$/;

test('a wrong password is refused, the right one opens the tasks page, sign out ends the session', async ({
  page,
  context,
  seedUser,
}) => {
  const user = await seedUser('viewer');
  const sessionCookies = async () => (await context.cookies()).filter((c) => /session/.test(c.name));

  // Signed out, the console sends every page to the sign-in form, remembering which page it was.
  await page.goto('/tasks');
  await expect(page).toHaveURL(/\/sign-in\?next=%2Ftasks$/);
  await expect(page.getByRole('heading', { name: 'Sign in to Lovage' })).toBeVisible();
  const form = page.getByRole('form', { name: 'Sign in' });
  await snap(page, 'sign-in');

  await form.getByLabel('E-mail').fill(user.email);
  await form.getByLabel('Password').fill(`${user.password}-wrong`);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect(form.getByRole('alert')).toHaveText('Wrong e-mail or password.');
  await expect(page).toHaveURL(SIGN_IN);
  await snap(page, 'sign-in-wrong-password');
  expect(await sessionCookies()).toEqual([]);
  await page.goto('/tasks');
  await expect(page).toHaveURL(SIGN_IN);

  await form.getByLabel('E-mail').fill(user.email);
  await form.getByLabel('Password').fill(user.password);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/tasks$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Tasks' })).toBeVisible();
  const sidebar = page.getByRole('complementary');
  await expect(sidebar).toContainText(user.email);
  await expect(sidebar.getByLabel('Your role')).toHaveText('viewer');
  // A viewer is not offered user management.
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Audit log' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Users' })).toHaveCount(0);
  expect(await sessionCookies()).not.toEqual([]);

  await sidebar.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(SIGN_IN);
  await expect(page.getByRole('heading', { name: 'Sign in to Lovage' })).toBeVisible();
  await page.goto('/tasks');
  await expect(page).toHaveURL(SIGN_IN);

  // Signing in from a deep link comes back to it.
  await page.goto('/workers?x=1');
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fworkers%3Fx%3D1$/);
  await form.getByLabel('E-mail').fill(user.email);
  await form.getByLabel('Password').fill(user.password);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/workers\?x=1$/);
  await expect(page.getByRole('heading', { level: 1, name: 'Workers' })).toBeVisible();
});

test('a forged X-Forwarded-For does not make a new client for the sign-in limit', async ({
  playwright,
  run,
}) => {
  test.setTimeout(120_000);
  // A console of its own: using up the shared console's 5 sign-ins a minute from 127.0.0.1 would refuse
  // the other specs' sign-ins.
  await withOwnConsole(run, 'sign-in-limit', async (started) => {
    const request = await playwright.request.newContext({ baseURL: started.baseURL });
    const statuses: number[] = [];
    // Password spraying: another account and another made-up address each time.
    for (let i = 0; i < 6; i++) {
      const res = await request.post('/api/auth/sign-in/email', {
        headers: { origin: started.baseURL, 'x-forwarded-for': `203.0.113.${i}` },
        data: { email: `sprayed-${i}-${run.runId}@e2e.test`, password: 'not-a-password' },
      });
      statuses.push(res.status());
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    await request.dispose();
  });
});

test("a disabled user's open tab goes to sign-in at its next request", async ({
  browser,
  run,
  api,
  seedUser,
  queue,
}) => {
  const user = await seedUser('viewer');
  // Signed in through the API (its own client address), not the form: the browser's sign-ins keep theirs.
  const session = await ConsoleApi.signIn(run.baseURL, user.email, user.password);
  const context = await browser.newContext({
    baseURL: run.baseURL,
    storageState: await session.ctx.storageState(),
  });
  const page = await context.newPage();
  await page.goto('/tasks');
  await expect(page.getByRole('heading', { level: 1, name: 'Tasks' })).toBeVisible();
  await expect(page.getByRole('status', { name: 'Live updates on' })).toBeVisible();

  const admin = await api('admin');
  const users = await admin.query<{ id: string; email: string }[]>('users.find');
  const target = users.find((u) => u.email === user.email)!;
  await admin.mutation('users.setDisabled', { userId: target.id, disabled: true });
  // A task the worker runs: the live update makes the tab refetch, which the server refuses.
  await queue.send('e2e.add', [1, 2]);
  await expect(page).toHaveURL(/\/sign-in\?next=%2Ftasks$/);
  await expect(page.getByRole('heading', { name: 'Sign in to Lovage' })).toBeVisible();
  await context.close();
  await session.ctx.dispose();
});
