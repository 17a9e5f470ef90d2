#!/usr/bin/env node
// Root `postinstall`: generates the Prisma client of the console's database (prisma/generated). Skipped,
// saying so, where the prisma/ folder is absent (an image that ships only the worker).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const config = path.join(repo, 'prisma/prisma.config.ts');
if (!existsSync(config)) {
  console.log('[lovage-web] no prisma/ folder: Prisma client not generated (the console will not run here).');
  process.exit(0);
}
const prisma = path.join(repo, 'node_modules/.bin/prisma');
const res = spawnSync(prisma, ['generate', '--config', config], { cwd: repo, stdio: 'inherit' });
process.exit(res.status ?? 1);
