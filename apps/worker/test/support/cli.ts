/**
 * The `lovage` CLI in a child process, as users run it (`node apps/worker/bin/lovage.mjs …`), against the run's
 * broker (support/broker.ts), with its JSON log lines readable as they come.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'vitest';
import { BROKER_ENV } from './broker';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../../../..');
const bin = path.join(root, 'apps/worker/bin/lovage.mjs');
/** A fixture tasks module, by its path from the repository root (where the CLI runs). */
export const fixture = (name: string) => path.join('apps/worker/test/fixtures', name);

export interface LogLine {
  msg?: string;
  level?: number;
  [key: string]: unknown;
}

export interface Cli {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first JSON log line whose `msg` matches, or rejects when the deadline passes or the process exits. */
  waitForLog: (msg: string | RegExp, timeoutMs?: number) => Promise<LogLine>;
}

/**
 * Spawns the CLI; the process is SIGKILLed when the test finishes if it is still running (pass the test's
 * own context so that concurrent tests only clean up their own processes).
 */
export function runCli(ctx: TestContext, args: string[], env: Record<string, string> = {}): Cli {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: root,
    env: {
      ...process.env,
      ...BROKER_ENV,
      LOVAGE_LOG_FORMAT: '',
      ...env,
    },
  });
  let out = '';
  let err = '';
  const lines: LogLine[] = [];
  const listeners = new Set<() => void>();
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      try {
        lines.push(JSON.parse(line) as LogLine);
      } catch {
        lines.push({ msg: line });
      }
    }
    for (const l of listeners) l();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      // 'exit' can fire before the last output is read; 'close' waits for the streams.
      child.on('close', () => {
        for (const l of listeners) l();
        resolve({ code, signal });
      });
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });

  const waitForLog = (msg: string | RegExp, timeoutMs = 15_000) =>
    new Promise<LogLine>((resolve, reject) => {
      const matches = (l: LogLine) =>
        typeof l.msg === 'string' && (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg));
      const check = () => {
        const found = lines.find(matches);
        if (found) finish(() => resolve(found));
        else if (done) finish(() => reject(new Error(`exited before logging ${msg}\n${out}\n${err}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no log ${msg} within ${timeoutMs} ms\n${out}\n${err}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        settle();
      };
      listeners.add(check);
      check();
    });

  const cli: Cli = { child, stdout: () => out, stderr: () => err, exited, waitForLog };
  ctx.onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return cli;
}

/** Waits for exit, failing the test if it takes longer than the deadline. */
export async function exitOf(cli: Cli, timeoutMs = 15_000) {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`still running after ${timeoutMs} ms\n${cli.stdout()}\n${cli.stderr()}`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([cli.exited, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
