/**
 * Applies prisma/migrations at start-up without Prisma's native schema engine (unreachable offline), the way
 * `prisma migrate deploy` does: in name order, each once, recorded in `_prisma_migrations` with the SHA-256
 * of its file, so `prisma migrate status` agrees wherever the engine can be downloaded. Each migration runs
 * in one transaction under an advisory lock, so two processes starting together apply it once.
 */
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';

/** Prisma's own lock key for migrations (`prisma migrate` uses the same). */
const LOCK_KEY = 72707369;

const CREATE_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
  "id" VARCHAR(36) PRIMARY KEY NOT NULL,
  "checksum" VARCHAR(64) NOT NULL,
  "finished_at" TIMESTAMPTZ,
  "migration_name" VARCHAR(255) NOT NULL,
  "logs" TEXT,
  "rolled_back_at" TIMESTAMPTZ,
  "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
  "applied_steps_count" INTEGER NOT NULL DEFAULT 0
)`;

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

/** The migrations in `dir` (folders holding a migration.sql), in the order they apply. */
export function readMigrations(dir: string): Migration[] {
  return readdirSync(dir)
    .filter((name) => statSync(path.join(dir, name)).isDirectory())
    .sort()
    .flatMap((name) => {
      const file = path.join(dir, name, 'migration.sql');
      let sql: string;
      try {
        sql = readFileSync(file, 'utf8');
      } catch {
        return [];
      }
      return [{ name, sql, checksum: createHash('sha256').update(sql).digest('hex') }];
    });
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Applies the migrations not applied yet; returns their names. */
export async function applyMigrations(pool: pg.Pool, dir: string): Promise<string[]> {
  const migrations = readMigrations(dir);
  if (migrations.length === 0) throw new MigrationError(`no migrations found in ${dir}`);
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(CREATE_TABLE);
    const { rows } = await client.query<{
      migration_name: string;
      checksum: string;
      finished_at: Date | null;
      rolled_back_at: Date | null;
    }>('SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"');
    const failed = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
    if (failed) {
      throw new MigrationError(
        `migration ${failed.migration_name} started but never finished; fix the database, then mark it ` +
          'rolled back (prisma migrate resolve --rolled-back) before starting again',
      );
    }
    const done = new Set(rows.filter((r) => r.finished_at !== null).map((r) => r.migration_name));
    for (const m of migrations) {
      if (done.has(m.name)) continue;
      const id = randomUUID();
      await client.query('BEGIN');
      try {
        await client.query(
          'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at) VALUES ($1, $2, $3, now())',
          [id, m.checksum, m.name],
        );
        await client.query(m.sql);
        await client.query(
          'UPDATE "_prisma_migrations" SET finished_at = now(), applied_steps_count = 1 WHERE id = $1',
          [id],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new MigrationError(`migration ${m.name} failed: ${(err as Error).message}`);
      }
      applied.push(m.name);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
  return applied;
}
