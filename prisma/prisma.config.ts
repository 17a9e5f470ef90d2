// Prisma CLI config. `prisma generate` needs no database and, with the line below, no download: Prisma 7
// otherwise fetches its native schema engine first, which these machines cannot reach. The variable is
// only defaulted, so a machine that has the real engine can still point `prisma migrate` at it.
// Migrations are applied by prisma/src/migrate.ts at start-up (see prisma/README.md).
import { defineConfig } from 'prisma/config';

process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= '/bin/true';

export default defineConfig({
  schema: 'schema.prisma',
  migrations: { path: 'migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/lovage' },
});
