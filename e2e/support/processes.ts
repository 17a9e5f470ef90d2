/**
 * Child processes of the e2e stack: each runs in its own process group (so stopping it stops whatever it
 * started) and writes its output to a log file under e2e/logs/. Every process started here is stopped by
 * `stopAll`, and killed outright if the runner exits first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface Managed {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Settles when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
}

const running = new Set<Managed>();

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

// Last resort when the runner exits without a teardown (a crash, an uncaught error): no orphans.
process.on('exit', () => {
  for (const p of running) if (p.child.pid && !p.hasExited()) signalGroup(p.child.pid, 'SIGKILL');
});

export function startProcess(
  name: string,
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; logDir: string },
): Managed {
  const logFile = path.join(options.logDir, `${name}.log`);
  const fd = openSync(logFile, 'w');
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      done = true;
      console.error(`[e2e] ${name}: ${err.message}`);
      resolve({ code: null, signal: null });
    });
  });
  const managed: Managed = { name, child, logFile, exited, hasExited: () => done };
  running.add(managed);
  void exited.then(() => running.delete(managed));
  return managed;
}

/** The last lines of a process's log, for error messages. */
export function logTail(p: Managed, lines = 40): string {
  try {
    return readFileSync(p.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops a process group: SIGTERM (a warm shutdown), a second SIGTERM after `coldAfterMs` (the worker's cold
 * shutdown), SIGKILL after `killAfterMs`.
 */
export async function stopProcess(p: Managed, coldAfterMs = 3000, killAfterMs = 10_000): Promise<void> {
  const pid = p.child.pid;
  if (!pid || p.hasExited()) return;
  signalGroup(pid, 'SIGTERM');
  const outcome = await Promise.race([p.exited, delay(coldAfterMs).then(() => 'cold' as const)]);
  if (outcome !== 'cold') return;
  signalGroup(pid, 'SIGTERM');
  const late = await Promise.race([p.exited, delay(killAfterMs - coldAfterMs).then(() => 'kill' as const)]);
  if (late !== 'kill') return;
  console.warn(`[e2e] ${p.name} did not stop in ${killAfterMs / 1000}s: killing it`);
  signalGroup(pid, 'SIGKILL');
  await p.exited;
}

/** Stops every process still running, the console first (it holds the PGlite folder). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => stopProcess(p)));
}

/**
 * Polls `check` until it returns a value, failing early when one of `processes` exits and after `timeoutMs`.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | null | undefined>,
  options: { timeoutMs: number; processes?: Managed[]; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const watched = options.processes ?? [];
  let lastError: unknown = null;
  for (;;) {
    const dead = watched.find((p) => p.hasExited());
    if (dead) {
      throw new Error(
        `${dead.name} exited while waiting for ${what}; its log (${dead.logFile}) ends:\n${logTail(dead)}`,
      );
    }
    try {
      const value = await check();
      if (value !== null && value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const tail = watched.map((p) => `\n${p.name} log ends:\n${logTail(p)}`).join('');
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${options.timeoutMs / 1000}s waiting for ${what}${why}${tail}`);
    }
    await delay(options.intervalMs ?? 250);
  }
}
