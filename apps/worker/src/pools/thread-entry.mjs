// Entry of a threads-pool thread. Node 20 ignores `--import` in worker threads (tsx issue #354), so tsx is
// registered here, inside the thread, before anything TypeScript is imported: its ESM hooks (with the tasks
// module's tsconfig, found by bin/lovage.mjs and passed down in TSX_TSCONFIG_PATH) and its CommonJS hook (for
// `.cts` modules and CommonJS packages). tsx is resolved from this package, not from the cwd.
const tsconfig = process.env.TSX_TSCONFIG_PATH;
const esm = await import(import.meta.resolve('tsx/esm/api'));
esm.register(tsconfig ? { tsconfig } : {});
const cjs = await import(import.meta.resolve('tsx/cjs/api'));
cjs.register();

await import('./thread-child.ts');
