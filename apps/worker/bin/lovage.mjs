#!/usr/bin/env node
// The `lovage` command. Registers tsx (its ESM hooks and its CJS require hook) so that the CLI's own
// TypeScript source and the user's tasks module load with no build step, then hands over to src/cli.ts.
//
// tsx reads its tsconfig (for `paths` aliases and the like) when it is registered, so the tasks module's
// tsconfig has to be known before the CLI itself loads: it is the nearest tsconfig.json above the `-A` file.
// TSX_TSCONFIG_PATH carries it to tsx's CJS side and to any child process or thread started later.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

/** The value of -A/--app in argv (before any `--`), or null. src/cli.ts parses argv properly. */
function appArgument(argv) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') break;
    if (a === '-A' || a === '--app') return argv[i + 1] ?? null;
    if (a.startsWith('--app=')) return a.slice('--app='.length);
    if (a.startsWith('-A') && a.length > 2) return a.slice(2);
  }
  return null;
}

function findTsconfig(file) {
  let dir = path.dirname(path.resolve(file));
  for (;;) {
    const candidate = path.join(dir, 'tsconfig.json');
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return null;
    dir = parent;
  }
}

const app = appArgument(process.argv.slice(2));
const tsconfig = app ? findTsconfig(app) : null;
if (tsconfig) process.env.TSX_TSCONFIG_PATH = tsconfig;

// Resolved from this package, not from the cwd: the user's project need not depend on tsx.
const esm = await import(import.meta.resolve('tsx/esm/api'));
const cjs = await import(import.meta.resolve('tsx/cjs/api'));
esm.register(tsconfig ? { tsconfig } : {});
cjs.register();

await import('../src/cli.ts');
