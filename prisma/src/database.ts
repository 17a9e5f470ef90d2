/**
 * Opens the console's database: a real PostgreSQL when given a URL, else the embedded PGlite in a data
 * folder; applies the migrations; returns a Prisma client on `@prisma/adapter-pg` (no native engine).
 */
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/client';
import { startEmbeddedPostgres, EMBEDDED_MAX_CONNECTIONS } from './embedded';
import { applyMigrations } from './migrate';

export { PrismaClient };

export interface DatabaseOptions {
  /** `postgresql://user:password@host:5432/db`; without it, the embedded PGlite in `pgliteDir`. */
  url?: string | undefined;
  /** The embedded database's folder (created when missing). */
  pgliteDir: string;
  /** prisma/migrations. */
  migrationsDir: string;
  /** Connections to a real PostgreSQL (default 10). */
  poolSize?: number;
}

export interface Database {
  prisma: PrismaClient;
  kind: 'postgres' | 'pglite';
  /** Where it is, secrets masked: the URL without its password, or the data folder. */
  location: string;
  /** Migrations applied by this open. */
  applied: string[];
  close(): Promise<void>;
}

function maskDbUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '****';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^@/]*)@/, '//****@');
  }
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const embedded = options.url ? null : await startEmbeddedPostgres(options.pgliteDir);
  const pool = embedded
    ? new pg.Pool({
        host: embedded.host,
        port: embedded.port,
        user: 'postgres',
        database: 'postgres',
        max: EMBEDDED_MAX_CONNECTIONS,
      })
    : new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 10 });
  // An idle client that loses its server emits 'error' on the pool; without a listener it would crash
  // the process. The next query reconnects.
  pool.on('error', () => undefined);
  try {
    const applied = await applyMigrations(pool, options.migrationsDir);
    const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
    return {
      prisma,
      kind: embedded ? 'pglite' : 'postgres',
      location: embedded ? options.pgliteDir : maskDbUrl(options.url ?? ''),
      applied,
      close: async () => {
        await prisma.$disconnect();
        await pool.end().catch(() => undefined);
        await embedded?.stop();
      },
    };
  } catch (err) {
    await pool.end().catch(() => undefined);
    await embedded?.stop();
    throw err;
  }
}
