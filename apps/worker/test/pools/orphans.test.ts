/**
 * Prefork children never outlive the worker: when the parent process is SIGKILLed (no chance to stop its
 * pool), the IPC channel closes and each child runs its shutdown and exits, idle or in the middle of an
 * async job. (Threads cannot outlive their process at all.)
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { fixture, waitFor } from './fixtures/helpers';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('prefork pool: orphans', () => {
  it('children exit when the worker process is killed', async () => {
    const parent = spawn(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), fixture('orphan-parent.ts')],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let children: number[] = [];
    try {
      const line = await new Promise<string>((resolve, reject) => {
        const lines = createInterface({ input: parent.stdout });
        lines.on('line', (l) => l.startsWith('{"children"') && resolve(l));
        parent.on('exit', (code) =>
          reject(new Error(`the parent exited (${code}) before starting its pool`)),
        );
      });
      children = (JSON.parse(line) as { children: number[] }).children;
      expect(children).toHaveLength(2);
      expect(children.every(alive)).toBe(true);

      parent.kill('SIGKILL');
      await waitFor('both children to exit', () => !children.some(alive), 10_000);
    } finally {
      parent.kill('SIGKILL');
      for (const pid of children.filter(alive)) process.kill(pid, 'SIGKILL');
    }
  });
});
