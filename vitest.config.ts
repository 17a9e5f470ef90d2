import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';
import { testBrokerKind } from './packages/runtime/src/testing/test-broker';

// Tests talk to real Redis, RabbitMQ and PostgreSQL and spawn worker processes, so timeouts are generous,
// each file runs in its own child process, and at most two files run at once (CI machines have 2 cores).
// The broker under test comes from TEST_BROKER / TEST_BROKER_URL (vitest.global-setup.ts); on a broker other
// than Redis the tests of the Redis adapter itself (`*.redis.test.ts`) are left out: they ran on Redis already.
const redisOnly = testBrokerKind(process.env) === 'redis' ? [] : ['**/*.redis.test.ts'];

export default defineConfig({
  resolve: {
    alias: {
      // Next.js resolves `server-only` to an empty module on the server; outside Next it throws on import.
      'server-only': fileURLToPath(new URL('./apps/web/test/support/server-only.ts', import.meta.url)),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'packages/*/src/**/*.test.ts', 'apps/*/test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...redisOnly],
    globalSetup: ['./vitest.global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
