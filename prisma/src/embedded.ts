/**
 * The embedded database: PGlite (PostgreSQL compiled to WebAssembly) persisted in a data folder, served
 * to `pg` on a Unix socket in a private temporary folder, so Prisma's PostgreSQL adapter talks to it as
 * to any server and no other local user can connect. One process per data folder: a second one would
 * see its own copy and corrupt the folder, so a lock file (`<dir>.lock`, holding the pid) refuses it.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

export interface EmbeddedPostgres {
  /** The folder `pg` connects to (`host`), with `port` naming the socket file. */
  host: string;
  port: number;
  /** Flushes and closes PGlite; call it on shutdown (an unclean stop costs a WAL recovery). */
  stop(): Promise<void>;
}

/** Connections the socket accepts; the `pg` pool in front of it must not use more. */
export const EMBEDDED_MAX_CONNECTIONS = 4;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockDataDir(dir: string): () => void {
  const lock = `${dir}.lock`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(lock, 'utf8').trim());
      if (pid && pid !== process.pid && pidAlive(pid)) {
        throw new Error(
          `the database folder ${dir} is in use by process ${pid}; stop it, or give this process its own ` +
            'PGLITE_DIR (or a DATABASE_URL)',
        );
      }
      rmSync(lock, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`could not lock ${dir}`);
}

export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  const dir = path.resolve(dataDir);
  mkdirSync(path.dirname(dir), { recursive: true });
  const unlock = lockDataDir(dir);
  try {
    mkdirSync(dir, { recursive: true });
    const db = await PGlite.create(dir);
    const socketDir = mkdtempSync(path.join(os.tmpdir(), 'lovage-pg-'));
    const port = 5432;
    const server = new PGLiteSocketServer({
      db,
      path: path.join(socketDir, `.s.PGSQL.${port}`),
      maxConnections: EMBEDDED_MAX_CONNECTIONS,
    });
    await server.start();
    let stopped: Promise<void> | null = null;
    return {
      host: socketDir,
      port,
      stop: () =>
        (stopped ??= (async () => {
          await server.stop();
          await db.close();
          rmSync(socketDir, { recursive: true, force: true });
          unlock();
        })()),
    };
  } catch (err) {
    unlock();
    throw err;
  }
}
