/**
 * The services `npm start` runs, supervised: each child's output prefixed with its name, one stop for all.
 *
 * Every service leads its own process group (spawned `detached`), out of the terminal's foreground group, so
 * the terminal's Ctrl-C reaches only the supervisor, which sends each service exactly one SIGTERM: the
 * warm stop (the worker finishes its running tasks, the monitor folds what it received). A service that got
 * the terminal's SIGINT and then the supervisor's SIGTERM would take the second for "stop at once".
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface ServiceOptions {
  /** Ends by itself (the demo sender): its exit does not stop the others. */
  oneShot?: boolean;
  /**
   * Signalled as a whole process group: the console's build and next-server are its grandchildren. Not for
   * the worker: its pool children must hear only from it (a SIGTERM of their own would end them mid-task),
   * which is how the worker's warm shutdown finishes their tasks.
   */
  group?: boolean;
}

export class Services {
  private readonly children: ChildProcess[] = [];
  private readonly grouped = new Set<ChildProcess>();
  private signals = 0;
  stopping = false;

  constructor(
    private readonly cwd: string,
    private readonly env: Record<string, string | undefined>,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}

  run(
    name: string,
    args: string[],
    env: Record<string, string> = {},
    opts: ServiceOptions = {},
  ): ChildProcess {
    const child = spawn(args[0]!, args.slice(1), {
      cwd: this.cwd,
      env: { ...this.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const prefix = `${name.padEnd(7)}| `;
    for (const stream of [child.stdout!, child.stderr!]) {
      let partial = '';
      stream.setEncoding('utf8').on('data', (chunk: string) => {
        partial += chunk;
        const lines = partial.split('\n');
        partial = lines.pop()!;
        for (const line of lines) this.out.write(`${prefix}${line}\n`);
      });
    }
    child.on('exit', (code, signal) => {
      this.out.write(`${prefix}exited (${signal ?? code})\n`);
      // A service that stops takes the others down; a one-shot (the demo sender) just ends.
      if (!this.stopping && !opts.oneShot) this.stop(code ?? 1);
    });
    this.children.push(child);
    if (opts.group) this.grouped.add(child);
    return child;
  }

  /** Stops every service with one SIGTERM (warm) and exits with `code` once they all have. */
  stop(code = 0): void {
    if (this.stopping) return;
    this.stopping = true;
    this.signalAll('SIGTERM');
    void Promise.all(
      this.children.map((c) => (running(c) ? new Promise((r) => c.once('exit', r)) : null)),
    ).then(() => process.exit(code));
  }

  /** Ctrl-C, SIGTERM and SIGHUP: the first stops warmly, the second asks for a cold stop, the third kills. */
  handleSignals(): void {
    const onSignal = () => {
      this.signals++;
      if (!this.stopping) {
        this.out.write('\nStopping: the worker finishes its running tasks (Ctrl-C again to stop at once).\n');
        return this.stop(0);
      }
      if (this.signals <= 2) {
        this.out.write('\nStopping at once (Ctrl-C again to kill).\n');
        return this.signalAll('SIGTERM');
      }
      this.signalAll('SIGKILL');
      process.exit(130);
    };
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, onSignal);
  }

  private signalAll(sig: NodeJS.Signals): void {
    for (const c of this.children) {
      if (!running(c)) continue;
      if (!this.grouped.has(c)) {
        c.kill(sig);
        continue;
      }
      try {
        process.kill(-c.pid!, sig);
      } catch {
        c.kill(sig);
      }
    }
  }
}

const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null && !!c.pid;
