/**
 * Loads the user's tasks module and finds its app. tsx is already registered (bin/lovage.mjs), so `.ts`,
 * `.mts` and `.cts` files load like JavaScript. `.cts`/`.cjs` go through `require`: tsx's `import()` of a
 * `.cts` breaks as soon as anything below it requires a `.json` file (ioredis does). Everything else goes
 * through `import()`, the only way that supports top-level await.
 *
 * The app is recognised by its `Symbol.for` brand (`isApp`), never `instanceof`: a CommonJS tasks module gets
 * its own tsx-compiled copy of @lovage/runtime, whose App class is not this one.
 */
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isApp, type App } from '@lovage/runtime';
import { oneLine, UsageError } from './errors';

const require = createRequire(import.meta.url);

export async function loadApp(file: string): Promise<App> {
  const abs = path.resolve(file);
  let isFile: boolean;
  try {
    isFile = statSync(abs).isFile();
  } catch {
    throw new UsageError(`cannot find the tasks module ${file}`);
  }
  if (!isFile) throw new UsageError(`the tasks module ${file} is not a file`);

  let exports: unknown;
  try {
    exports = /\.c[jt]s$/.test(abs) ? require(abs) : await import(pathToFileURL(abs).href);
  } catch (err) {
    throw new UsageError(`cannot load the tasks module ${file}: ${oneLine(err)}`, { cause: err });
  }
  const app = findApp(exports);
  if (!app) {
    throw new UsageError(
      `the tasks module ${file} exports no Lovage app (export the createApp() result as the default export or as \`app\`)`,
    );
  }
  return app;
}

/**
 * The app among a module's exports: `export default app`, `export const app`, `module.exports = app`,
 * `exports.app = app`, and the same seen through ESM's wrapping of a CommonJS module (`default`).
 */
export function findApp(exports: unknown): App | null {
  const get = (v: unknown, key: string): unknown =>
    v !== null && (typeof v === 'object' || typeof v === 'function')
      ? (v as Record<string, unknown>)[key]
      : undefined;
  const def = get(exports, 'default');
  const candidates = [exports, def, get(exports, 'app'), get(def, 'default'), get(def, 'app')];
  return candidates.find(isApp) ?? null;
}
