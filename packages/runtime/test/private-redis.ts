/**
 * A redis-server of a test's own, on a free port and a private directory, that the test may kill and start
 * again (the reconnect and data-loss tests). With `aof` every write is fsynced, so a SIGKILL loses nothing
 * stored; without, a restart comes back empty.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export class PrivateRedis {
  private proc: ChildProcess | null = null;
  private readonly dir = mkdtempSync(join(tmpdir(), 'lovage-redis-'));

  private constructor(
    readonly port: number,
    private readonly aof: boolean,
  ) {}

  /** Starts a new server; `aof` keeps every write across a kill. */
  static async start(aof: boolean): Promise<PrivateRedis> {
    const server = new PrivateRedis(await freePort(), aof);
    await server.start();
    return server;
  }

  url(db = 0): string {
    return `redis://127.0.0.1:${this.port}/${db}`;
  }

  private ping(): boolean {
    const out = spawnSync('redis-cli', ['-p', String(this.port), 'ping'], { encoding: 'utf8' });
    return out.stdout.trim() === 'PONG';
  }

  async start(): Promise<void> {
    const persistence = this.aof
      ? ['--appendonly', 'yes', '--appendfsync', 'always']
      : ['--appendonly', 'no'];
    this.proc = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', ...persistence],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    while (!this.ping()) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGKILL: no shutdown save, as a crashed or OOM-killed server. */
  async crash(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  /** A clean shutdown (`SHUTDOWN`: the AOF is flushed), as an operator's restart. */
  async shutdown(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    spawnSync('redis-cli', ['-p', String(this.port), 'shutdown']);
    await exited;
  }

  async restart(): Promise<void> {
    await this.crash();
    await this.start();
  }

  async destroy(): Promise<void> {
    await this.crash();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
