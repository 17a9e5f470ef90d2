/**
 * Browser tests of the console against the real stack (see global-setup.ts), in Debian's Chromium:
 * `npm run test:e2e`. One spec per journey under specs/; the audit journey checks what the action journeys
 * did, so its project depends on theirs. Tests share one stack and run one at a time (2-core CI machines).
 */
import { defineConfig } from '@playwright/test';

const ci = !!process.env.CI;

export default defineConfig({
  testDir: './specs',
  outputDir: './test-results',
  globalSetup: './global-setup.ts',
  fullyParallel: false,
  workers: 1,
  forbidOnly: ci,
  retries: ci ? 1 : 0,
  timeout: 60_000,
  globalTimeout: 8 * 60_000,
  expect: { timeout: 15_000 },
  reporter: [['list']],
  use: {
    // Debian's Chromium: Playwright's own browsers are never downloaded here.
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
    viewport: { width: 1440, height: 900 },
    trace: 'on-first-retry',
    screenshot: 'only-on-failure',
    actionTimeout: 15_000,
    navigationTimeout: 30_000,
  },
  projects: [
    {
      name: 'console',
      testMatch: [
        'first-admin.spec.ts',
        'sign-in.spec.ts',
        'settings-validation.spec.ts',
        'tasks-layout.spec.ts',
        'export.spec.ts',
      ],
    },
    {
      name: 'actions',
      testMatch: [
        'live-failure-retry.spec.ts',
        'revoke-scheduled.spec.ts',
        'worker-concurrency.spec.ts',
        'dead-letters.spec.ts',
        'schedules.spec.ts',
        'queues.spec.ts',
        'rabbitmq.spec.ts',
        'workflow.spec.ts',
        'replay.spec.ts',
      ],
    },
    { name: 'audit', testMatch: ['audit.spec.ts'], dependencies: ['actions'] },
  ],
});
