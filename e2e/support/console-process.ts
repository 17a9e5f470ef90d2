/**
 * Starting the console for the browser tests: scripts/server.mjs (`next start`) on the e2e build (apps/web/.next-e2e) on a free
 * port, with its own data folder (PGlite, auth secret), under the run's broker key prefix. The global setup
 * starts the shared console this way; a spec that needs a console of its own (one with no user yet) too.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { startProcess, stopProcess, waitFor, type Managed } from './processes';
import { LOG_DIR, REPO_DIR, type RunInfo } from './run-info';

export const WEB_DIR = path.join(REPO_DIR, 'apps/web');
export const NEXT_BIN = path.join(REPO_DIR, 'node_modules/next/dist/bin/next');
/** The console's own server (`next start` that appends the TCP peer to X-Forwarded-For), as `npm start` runs it. */
export const SERVER_SCRIPT = path.join(WEB_DIR, 'scripts/server.mjs');
/** The console is built into its own folder (next.config.ts reads LOVAGE_WEB_DIST_DIR), never `.next`. */
export const DIST_DIR = '.next-e2e';

/** The runner's environment minus what would change how the children behave. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(LOVAGE_|PW_|PLAYWRIGHT_)/.test(k) || k === 'NODE_OPTIONS' || k === 'DATABASE_URL') continue;
    if (k === 'NODE_ENV' || k === 'PORT') continue;
    env[k] = v;
  }
  return { ...env, NEXT_TELEMETRY_DISABLED: '1', ...extra };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface ConsoleOptions {
  /** Names the process and its log file under e2e/logs/. */
  name: string;
  brokerUrl: string;
  resultBackendUrl: string;
  stateUrl: string;
  prefix: string;
  /** Its data folder: PGlite and the generated auth secret. One console per folder. */
  dataDir: string;
  /** More environment, e.g. LOVAGE_ADMIN_EMAIL and LOVAGE_ADMIN_PASSWORD. */
  env?: Record<string, string>;
}

/** Starts a console on the existing e2e build and resolves once its sign-in page answers. */
export async function startConsole(o: ConsoleOptions): Promise<{ web: Managed; baseURL: string }> {
  const port = await freePort();
  const baseURL = `http://127.0.0.1:${port}`;
  const web = startProcess(
    o.name,
    process.execPath,
    [SERVER_SCRIPT, '--port', String(port), '-H', '127.0.0.1'],
    {
      cwd: WEB_DIR,
      env: childEnv({
        NODE_ENV: 'production',
        NODE_OPTIONS: '--import tsx',
        LOVAGE_WEB_DIST_DIR: DIST_DIR,
        PORT: String(port),
        LOVAGE_WEB_URL: baseURL,
        LOVAGE_BROKER_URL: o.brokerUrl,
        LOVAGE_RESULT_BACKEND: o.resultBackendUrl,
        LOVAGE_STATE_URL: o.stateUrl,
        LOVAGE_KEY_PREFIX: o.prefix,
        LOVAGE_DATA_DIR: o.dataDir,
        LOVAGE_AUTH_SECRET: randomBytes(32).toString('hex'),
        ...o.env,
      }),
      logDir: LOG_DIR,
    },
  );
  await waitFor(
    `the console at ${baseURL}`,
    async () => {
      const res = await fetch(`${baseURL}/sign-in`, { redirect: 'manual' });
      return res.status === 200 ? true : null;
    },
    { timeoutMs: 60_000, processes: [web] },
  );
  return { web, baseURL };
}

/**
 * Runs `body` against a console of its own on the run's broker and Redis (its own data folder, so a fresh database), for
 * journeys that must not touch the shared console (first start, sign-in limits); stopped whatever happens.
 */
export async function withOwnConsole<T>(
  run: RunInfo,
  name: string,
  body: (started: { web: Managed; baseURL: string }) => Promise<T>,
): Promise<T> {
  const started = await startConsole({
    name: `web-${name}`,
    brokerUrl: run.brokerUrl,
    resultBackendUrl: run.resultBackendUrl,
    stateUrl: run.stateUrl,
    prefix: run.prefix,
    dataDir: path.join(run.runDir, `console-${name}`),
  });
  try {
    return await body(started);
  } finally {
    await stopProcess(started.web);
  }
}
