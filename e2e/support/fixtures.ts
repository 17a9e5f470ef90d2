/**
 * The specs' fixtures: the running stack (`run`), a browser session per role (`test.use({ role })`), an app
 * that sends tasks to the e2e worker (`queue`), the console's API as a given role (`api`), users created per
 * test (`seedUser`) and a journal the audit journey reads; `snap` saves full-page screenshots.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { test as base, expect, type Locator, type Page } from '@playwright/test';
import { createApp, type App, type ApplyOptions } from '@lovage/runtime';
import { ConsoleApi } from './console-api';
import { runInfo, SCREENSHOT_DIR, type Role, type RunInfo, type SeededUser } from './run-info';

export { expect };

export interface QueueClient {
  app: App;
  /** Sends a task to the e2e worker's queue; returns its id. */
  send(name: string, args: unknown[], options?: ApplyOptions): Promise<string>;
}

export interface Journal {
  write(key: string, value: unknown): void;
  read<T>(key: string): T;
}

interface Fixtures {
  /** The role whose seeded session the page starts with; null: signed out. */
  role: Role | null;
  run: RunInfo;
  /** The signed-in user of `role`. */
  user: SeededUser;
  queue: QueueClient;
  api: (role: Role) => Promise<ConsoleApi>;
  seedUser: (role: Role) => Promise<{ email: string; password: string }>;
  journal: Journal;
  /** A name no other test uses, for task arguments and reasons. */
  marker: string;
}

export const test = base.extend<Fixtures>({
  role: [null, { option: true }],
  // eslint-disable-next-line no-empty-pattern
  run: async ({}, use) => use(runInfo()),
  baseURL: async ({ run }, use) => use(run.baseURL),
  storageState: async ({ role, run }, use) => use(role ? run.users[role].storageState : undefined),
  user: async ({ role, run }, use) => {
    if (!role) throw new Error('the `user` fixture needs test.use({ role })');
    await use(run.users[role]);
  },
  queue: async ({ run }, use) => {
    const app = createApp({
      broker: run.brokerUrl,
      backend: run.resultBackendUrl,
      state: run.stateUrl,
      defaultQueue: run.queue,
      brokerTransportOptions: { globalKeyprefix: run.prefix },
    });
    const send: QueueClient['send'] = async (name, args, options = {}) => {
      const result = await app.sendTask(name, args, {}, options);
      // The teardown deletes the results of these too, should the monitor have missed one.
      appendFileSync(path.join(run.runDir, 'sent-task-ids.txt'), `${result.id}\n`);
      return result.id;
    };
    await use({ app, send });
    await app.close();
  },
  api: async ({ run }, use) => {
    const opened: ConsoleApi[] = [];
    await use(async (role) => {
      const api = await ConsoleApi.fromState(run.baseURL, run.users[role].storageState);
      opened.push(api);
      return api;
    });
    await Promise.all(opened.map((a) => a.dispose()));
  },
  seedUser: async ({ api, marker }, use) => {
    let n = 0;
    await use(async (role) => {
      const user = {
        email: `${role}-${marker}-${n++}@e2e.test`,
        password: `pw-${randomBytes(12).toString('base64url')}`,
      };
      const admin = await api('admin');
      await admin.mutation('users.create', { ...user, name: `E2E ${role} ${marker}`, role });
      return user;
    });
  },
  journal: async ({ run }, use) => {
    const dir = path.join(run.runDir, 'journal');
    mkdirSync(dir, { recursive: true });
    await use({
      write: (key, value) => writeFileSync(path.join(dir, `${key}.json`), JSON.stringify(value, null, 2)),
      read: <T>(key: string) => {
        try {
          return JSON.parse(readFileSync(path.join(dir, `${key}.json`), 'utf8')) as T;
        } catch {
          throw new Error(`no journal entry "${key}": the journey that writes it did not pass in this run`);
        }
      },
    });
  },
  // eslint-disable-next-line no-empty-pattern
  marker: async ({}, use, testInfo) => {
    await use(`${testInfo.project.name}-${randomBytes(4).toString('hex')}`);
  },
});

/** A full-page screenshot into e2e/screenshots/<name>.png (listed at the end of the run). */
export async function snap(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/**
 * A value of a task detail page's "Details" list (`<dt>label</dt><dd>value</dd>`). The rows carry no
 * label of their own, so this follows the definition list's structure.
 */
export function detailValue(page: Page, label: string): Locator {
  return page
    .getByRole('region', { name: 'Details' })
    .locator(`xpath=.//dt[normalize-space()="${label}"]/following-sibling::dd[1]`);
}

/** The row of a table that contains `text` (an id, a host name). */
export function rowWith(table: Locator, text: string): Locator {
  return table.getByRole('row').filter({ hasText: text });
}
