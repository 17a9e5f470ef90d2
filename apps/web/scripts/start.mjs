#!/usr/bin/env node
// `npm start` in apps/web: builds the console when there is no build or its sources changed since, then
// runs it through scripts/server.mjs (`next start` that records the client's address). Node loads the
// queue runtime's TypeScript through tsx (see src/server/runtime.ts).
import { spawnSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const repo = path.resolve(here, '../..');
const next = path.join(repo, 'node_modules/.bin/next');
const env = {
  ...process.env,
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import tsx`.trim(),
  NEXT_TELEMETRY_DISABLED: process.env.NEXT_TELEMETRY_DISABLED ?? '1',
};

function newest(p) {
  if (!existsSync(p)) return 0;
  const s = statSync(p);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(p).map((n) => newest(path.join(p, n))));
}

const buildId = path.join(here, process.env.LOVAGE_WEB_DIST_DIR ?? '.next', 'BUILD_ID');
const sources = [
  path.join(here, 'src'),
  path.join(here, 'next.config.ts'),
  path.join(here, 'package.json'),
  path.join(repo, 'prisma/src'),
  path.join(repo, 'prisma/generated'),
  path.join(repo, 'packages/runtime/src/settings'),
];
const built = existsSync(buildId) ? statSync(buildId).mtimeMs : 0;
if (process.argv.includes('--rebuild') || built < Math.max(...sources.map(newest))) {
  console.log(
    built
      ? '[lovage-web] sources changed since the last build: building…'
      : '[lovage-web] first start: building the console (a minute or two)…',
  );
  const res = spawnSync(next, ['build'], { cwd: here, env, stdio: 'inherit' });
  if (res.status !== 0) process.exit(res.status ?? 1);
}
const port = process.env.PORT ?? '3000';
// Loopback unless asked: a first look must not open the console to the network. HOST=0.0.0.0 listens on
// every interface (docker-compose sets it: the console must be reachable from outside its container).
const host = process.env.HOST || '127.0.0.1';
const server = path.join(here, 'scripts/server.mjs'); // `next start` that records the TCP peer
const child = spawn(process.execPath, [server, '--port', port, '--hostname', host], {
  cwd: here,
  env,
  stdio: 'inherit',
});
// A stop we passed on ends cleanly even when the server died of the signal; an unasked death is a failure.
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => {
    stopping = true;
    child.kill(sig);
  });
child.on('exit', (code, signal) => process.exit(code ?? (signal && !stopping ? 1 : 0)));
