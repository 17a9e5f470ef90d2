/**
 * A RabbitMQ node of a test's own (the installed rabbitmq-server, a second node beside the machine's), for
 * faults that reach the whole node: stop_app/start_app, memory alarms, a short `consumer_timeout`. It runs on
 * free ports with its data, logs, config and Erlang cookie in a temp dir (HOME points there, so the
 * rabbitmqctl that talks to it reads the same cookie), no plugins and so no management listener. Starting one
 * takes about 5 s here; a file starts one and reuses it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './private-redis';

const run = promisify(execFile);
// The scripts themselves: /usr/sbin's wrappers switch to the rabbitmq user, whose cookie is not ours.
const BIN = '/usr/lib/rabbitmq/bin';
// rabbitmqctl's own distribution ports (RabbitMQ's default 25672 + 10000, and ten above).
const CLI_PORTS = { min: 35672, max: 35682 };

async function portOutsideCli(): Promise<number> {
  for (;;) {
    const p = await freePort();
    if (p < CLI_PORTS.min - 1 || p > CLI_PORTS.max) return p;
  }
}

export class PrivateRabbit {
  private proc: ChildProcess | null = null;

  private constructor(
    readonly node: string,
    readonly port: number,
    private readonly distPort: number,
    private readonly dir: string,
  ) {}

  /**
   * Starts a node with these rabbitmq.conf lines (e.g. `consumer_timeout = 5000`) and `rabbit` application
   * settings that have no rabbitmq.conf key (advanced.config, e.g. `channel_tick_interval`: how often a
   * channel checks its consumer timeout, 60000 ms), resolving once it accepts connections. The guest user
   * may connect from anywhere.
   */
  static async start(
    config: Record<string, string | number> = {},
    advanced: Record<string, number> = {},
  ): Promise<PrivateRabbit> {
    const dir = mkdtempSync(join(tmpdir(), 'lovage-rabbit-'));
    const lines = Object.entries({ loopback_users: 'none', ...config }).map(([k, v]) => `${k} = ${v}`);
    writeFileSync(join(dir, 'rabbitmq.conf'), `${lines.join('\n')}\n`);
    const rabbit = Object.entries(advanced).map(([k, v]) => `{${k}, ${v}}`);
    writeFileSync(join(dir, 'advanced.config'), `[{rabbit, [${rabbit.join(', ')}]}].\n`);
    writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
    const port = await portOutsideCli();
    let distPort = await portOutsideCli();
    while (distPort === port) distPort = await portOutsideCli();
    const node = new PrivateRabbit(`lovage-${randomUUID()}@localhost`, port, distPort, dir);
    const started = Date.now();
    await node.spawn();
    node.startSeconds = (Date.now() - started) / 1000;
    return node;
  }

  /** How long the node took to start, in seconds. */
  startSeconds = 0;

  private env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      HOME: this.dir,
      RABBITMQ_NODENAME: this.node,
      RABBITMQ_NODE_PORT: String(this.port),
      RABBITMQ_DIST_PORT: String(this.distPort),
      RABBITMQ_MNESIA_BASE: join(this.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(this.dir, 'log'),
      RABBITMQ_CONFIG_FILE: join(this.dir, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(this.dir, 'advanced.config'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(this.dir, 'enabled_plugins'),
      RABBITMQ_PID_FILE: join(this.dir, 'pid'),
    };
  }

  private async spawn(): Promise<void> {
    let output = '';
    // Its own process group: the script runs the Erlang VM as a child, and both must go together.
    const proc = spawn(join(BIN, 'rabbitmq-server'), [], {
      env: this.env(),
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    // A test process that ends without destroy() (a hook timed out) leaves no node behind.
    const orphanGuard = () => this.signal('SIGKILL');
    process.once('exit', orphanGuard);
    proc.once('exit', () => process.off('exit', orphanGuard));
    proc.stdout!.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-4000)));
    proc.stderr!.on('data', (b: Buffer) => (output = (output + b.toString()).slice(-4000)));
    this.proc = proc;
    const deadline = Date.now() + 60_000;
    // await_startup fails at once while the node has not registered with epmd yet: ask again.
    while (
      !(await this.ctl('await_startup', '--timeout', '30').then(
        () => true,
        () => false,
      ))
    ) {
      if (proc.exitCode !== null || Date.now() > deadline) {
        throw new Error(`RabbitMQ node ${this.node} did not start: ${output}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** `amqp://guest:guest@127.0.0.1:<port>/<vhost>`. */
  url(vhost = '/'): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}/${encodeURIComponent(vhost)}`;
  }

  /** rabbitmqctl against this node (asynchronous: a test's broker keeps running meanwhile). */
  async ctl(...args: string[]): Promise<string> {
    const { stdout } = await run(join(BIN, 'rabbitmqctl'), ['-q', '-n', this.node, ...args], {
      env: this.env(),
    });
    return stdout;
  }

  /** A vhost the guest user may use everything on. */
  async addVhost(vhost: string): Promise<string> {
    await this.ctl('add_vhost', vhost);
    await this.ctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
    return this.url(vhost);
  }

  /** Stops the RabbitMQ application and starts it again (the Erlang node stays): durable data survives. */
  async restartApp(downMs = 0): Promise<void> {
    await this.ctl('stop_app');
    if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
    await this.ctl('start_app');
    await this.ctl('await_startup');
  }

  /** Sends a signal to the node's process group (the script and the Erlang VM). */
  private signal(sig: NodeJS.Signals): void {
    const pid = this.proc?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // Gone already.
    }
  }

  /**
   * Freezes the node (SIGSTOP): connections stay open and nothing answers, as behind a network cut that
   * sends no reset; only heartbeats tell a client. `resume` thaws it.
   */
  pause(): void {
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  /** Stops the node for good and removes its data; idempotent. */
  async destroy(): Promise<void> {
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      this.resume();
      const exited = new Promise((r) => proc.once('exit', r));
      await this.ctl('stop').catch(() => undefined);
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      this.signal('SIGKILL');
    }
    this.proc = null;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
