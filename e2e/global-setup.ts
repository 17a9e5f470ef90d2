/**
 * The stack the specs run against, started once per run and torn down by the function this returns (also
 * when starting fails half-way):
 *
 * - a unique broker key prefix and queue (`e2e-<run id>`) on the machine's Redis (results in DB 1), or with
 *   TEST_BROKER=amqp (or TEST_BROKER_URL) on the broker it names, the state store staying on Redis DB 0;
 * - `lovage worker` on e2e/fixtures/tasks.ts (-E, -B, async pool, its own node name) and `lovage monitor`;
 * - the console: `next build` (see LOVAGE_E2E_BUILD below), then `next start` on a free port with
 *   NODE_ENV=production and a fresh PGlite folder in a temporary directory;
 * - users seeded, not clicked: the admin from LOVAGE_ADMIN_EMAIL/PASSWORD, an operator and a viewer created
 *   by the admin through tRPC, each signed in through the auth API into a Playwright storage state.
 *
 * Teardown stops every process, deletes the run's Redis keys (SCAN MATCH + DEL, never a flush) and its task
 * results, an AMQP run's vhost, removes the temporary folder and prints where the screenshots are.
 */
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { prepareTestBroker } from '../packages/runtime/src/testing/test-broker';
import { ConsoleApi } from './support/console-api';
import { childEnv, DIST_DIR, NEXT_BIN, startConsole, WEB_DIR } from './support/console-process';
import { logTail, startProcess, stopAll, stopProcess, waitFor, type Managed } from './support/processes';
import { deleteRunData, pingRedis, workerIndexed } from './support/redis';
import {
  LOG_DIR,
  REPO_DIR,
  RUN_FILE_VAR,
  SCREENSHOT_DIR,
  type Role,
  type RunInfo,
  type SeededUser,
} from './support/run-info';

export const CHROMIUM = '/usr/bin/chromium';
const LOVAGE_BIN = path.join(REPO_DIR, 'apps/worker/bin/lovage.mjs');

const log = (line: string) => console.log(`[e2e] ${line}`);

/** Newest modification time under `p` (0 when missing). */
function newest(p: string): number {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(p).map((n) => newest(path.join(p, n))));
}

/**
 * Whether apps/web/.next-e2e was built after every source it is made from changed: the rule of
 * apps/web/scripts/start.mjs, plus the lockfile.
 */
function buildIsFresh(): boolean {
  const buildId = path.join(WEB_DIR, DIST_DIR, 'BUILD_ID');
  if (!existsSync(buildId)) return false;
  const sources = [
    path.join(WEB_DIR, 'src'),
    path.join(WEB_DIR, 'next.config.ts'),
    path.join(WEB_DIR, 'package.json'),
    path.join(REPO_DIR, 'prisma/src'),
    path.join(REPO_DIR, 'prisma/generated'),
    path.join(REPO_DIR, 'packages/runtime/src/settings'),
    path.join(REPO_DIR, 'package-lock.json'),
  ];
  return statSync(buildId).mtimeMs >= Math.max(...sources.map(newest));
}

/**
 * `next build` into apps/web/.next-e2e. LOVAGE_E2E_BUILD: unset or `1` builds every run (CI); `auto` builds only
 * when the sources changed since the last build; `0` never builds (a build must exist). A console someone
 * is running from the same folder (`npm run web`) is disturbed by a rebuild under it: use `auto` then.
 */
async function buildConsole(): Promise<void> {
  const mode = process.env.LOVAGE_E2E_BUILD ?? '1';
  const exists = existsSync(path.join(WEB_DIR, DIST_DIR, 'BUILD_ID'));
  if (mode === '0' && exists) {
    log('LOVAGE_E2E_BUILD=0: using the existing console build (apps/web/.next-e2e)');
    return;
  }
  if (mode === 'auto' && buildIsFresh()) {
    log('LOVAGE_E2E_BUILD=auto: apps/web/.next-e2e is newer than its sources, not rebuilding');
    return;
  }
  const started = Date.now();
  log('building the console (next build, about a minute)…');
  const build = startProcess('next-build', process.execPath, [NEXT_BIN, 'build'], {
    cwd: WEB_DIR,
    env: childEnv({ NODE_ENV: 'production', NODE_OPTIONS: '--import tsx', LOVAGE_WEB_DIST_DIR: DIST_DIR }),
    logDir: LOG_DIR,
  });
  const { code, signal } = await build.exited;
  if (code !== 0) {
    throw new Error(
      `next build failed (${signal ?? `exit ${code}`}); ${build.logFile} ends:\n${logTail(build, 60)}`,
    );
  }
  log(`console built in ${((Date.now() - started) / 1000).toFixed(0)}s`);
}

function printScreenshots(): void {
  const files = existsSync(SCREENSHOT_DIR)
    ? readdirSync(SCREENSHOT_DIR).filter((f) => f.endsWith('.png'))
    : [];
  log(`screenshots (${files.length}) in ${SCREENSHOT_DIR}:`);
  for (const f of files.sort()) log(`  ${path.join(SCREENSHOT_DIR, f)}`);
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  // The broker under test (TEST_BROKER, TEST_BROKER_URL): an AMQP run gets a vhost of its own, and a broker
  // createApp refuses stops the run here, in one line. Results and the state store stay on Redis.
  const { broker, teardown: dropBroker } = await prepareTestBroker(process.env);
  const { url: brokerUrl, backendUrl: resultBackendUrl, stateUrl } = broker;
  const runId = randomBytes(4).toString('hex');
  const prefix = `e2e-${runId}:`;
  const queue = `e2e-${runId}`;
  const workerHostname = `e2e-${runId}@e2e`;
  rmSync(SCREENSHOT_DIR, { recursive: true, force: true });
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  rmSync(LOG_DIR, { recursive: true, force: true });
  mkdirSync(LOG_DIR, { recursive: true });
  const runDir = mkdtempSync(path.join(os.tmpdir(), `lovage-e2e-${runId}-`));
  log(`run ${runId}: key prefix ${prefix}, queue ${queue}, temporary folder ${runDir}, logs in ${LOG_DIR}`);

  let web: Managed | null = null;
  let tornDown = false;
  const teardown = async () => {
    if (tornDown) return;
    tornDown = true;
    // The console first: it closes its PGlite folder on SIGTERM.
    if (web) await stopProcess(web);
    await stopAll();
    const sentFile = path.join(runDir, 'sent-task-ids.txt');
    const sent = existsSync(sentFile) ? readFileSync(sentFile, 'utf8').split('\n').filter(Boolean) : [];
    try {
      const deleted = await deleteRunData({
        stateUrl,
        resultBackendUrl,
        prefix,
        taskIds: sent,
      });
      log(`deleted ${deleted.keys} Redis keys under ${prefix} and ${deleted.results} task results`);
    } catch (err) {
      console.error(`[e2e] could not clean Redis up: ${(err as Error).message}`);
    }
    await dropBroker().catch((err: Error) =>
      console.error(`[e2e] could not drop the broker: ${err.message}`),
    );
    rmSync(runDir, { recursive: true, force: true });
    printScreenshots();
  };

  try {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: apt-get install -y chromium (never \`npx playwright install\`)`,
      );
    }
    await pingRedis(stateUrl);

    // The worker and the monitor start while the console builds.
    const workerEnv = childEnv({
      LOVAGE_E2E_PREFIX: prefix,
      LOVAGE_E2E_QUEUE: queue,
      LOVAGE_LOG_FORMAT: 'json',
      LOVAGE_STATE_URL: stateUrl,
    });
    const worker = startProcess(
      'worker',
      process.execPath,
      [
        LOVAGE_BIN,
        'worker',
        '-A',
        'e2e/fixtures/tasks.ts',
        '-E',
        // Beat in the worker: the fixtures' code schedule, and those the Schedules journey defines.
        '-B',
        '-P',
        'async',
        '-n',
        workerHostname,
        '--broker',
        brokerUrl,
        '--result-backend',
        resultBackendUrl,
      ],
      { cwd: REPO_DIR, env: workerEnv, logDir: LOG_DIR },
    );
    const monitor = startProcess(
      'monitor',
      process.execPath,
      [LOVAGE_BIN, 'monitor', '--broker', brokerUrl, '--key-prefix', prefix],
      { cwd: REPO_DIR, env: workerEnv, logDir: LOG_DIR },
    );

    await buildConsole();

    const admin = {
      email: `admin-${runId}@e2e.test`,
      password: `pw-${randomBytes(12).toString('base64url')}`,
    };
    const consoleUp = Date.now();
    const started = await startConsole({
      name: 'web',
      brokerUrl,
      resultBackendUrl,
      stateUrl,
      prefix,
      dataDir: path.join(runDir, 'console'),
      env: {
        LOVAGE_ADMIN_EMAIL: admin.email,
        LOVAGE_ADMIN_PASSWORD: admin.password,
        // Seeding signs in with a made-up X-Forwarded-For per user (support/console-api.ts), as a local
        // proxy would send it, so it never uses up the sign-in attempts the sign-in journey makes.
        LOVAGE_TRUSTED_PROXIES: '127.0.0.1,::1',
      },
    });
    web = started.web;
    const baseURL = started.baseURL;
    log(`console answering at ${baseURL} after ${((Date.now() - consoleUp) / 1000).toFixed(1)}s`);
    await waitFor(
      `the worker ${workerHostname} in the task index`,
      () => workerIndexed(stateUrl, prefix, workerHostname).then((ok) => ok || null),
      { timeoutMs: 30_000, processes: [worker, monitor] },
    );

    // Seed the users (habit 10: fixtures seed, specs click).
    const statePath = (role: Role) => path.join(runDir, `state-${role}.json`);
    const adminApi = await ConsoleApi.signIn(baseURL, admin.email, admin.password);
    await adminApi.saveState(statePath('admin'));
    const users = {
      admin: { ...admin, role: 'admin', storageState: statePath('admin') },
    } as Record<Role, SeededUser>;
    for (const role of ['operator', 'viewer'] as const) {
      const user = {
        email: `${role}-${runId}@e2e.test`,
        password: `pw-${randomBytes(12).toString('base64url')}`,
        role,
        storageState: statePath(role),
      };
      await adminApi.mutation('users.create', {
        email: user.email,
        name: `E2E ${role}`,
        role,
        password: user.password,
      });
      const api = await ConsoleApi.signIn(baseURL, user.email, user.password);
      await api.saveState(user.storageState);
      await api.dispose();
      users[role] = user;
    }
    await adminApi.dispose();

    const info: RunInfo = {
      runId,
      baseURL,
      brokerUrl,
      resultBackendUrl,
      stateUrl,
      prefix,
      queue,
      workerHostname,
      runDir,
      users,
    };
    const runFile = path.join(runDir, 'run.json');
    writeFileSync(runFile, JSON.stringify(info, null, 2));
    process.env[RUN_FILE_VAR] = runFile;
    log('stack ready: worker, monitor and console up; admin, operator and viewer seeded');
  } catch (err) {
    await teardown();
    throw err;
  }
  return teardown;
}
