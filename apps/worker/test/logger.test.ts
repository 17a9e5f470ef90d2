/**
 * The pretty log format is coloured only where colours can be seen: on a terminal or with FORCE_COLOR, never
 * with NO_COLOR (https://no-color.org) and never into a pipe (how `npm start` reads its services, so that
 * its output redirected to a file has no escape codes).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const ESC = '\u001b[';

/** One pretty line logged by a fresh process (colour support is decided when it starts). */
function prettyLine(env: Record<string, string>): string {
  const script =
    "import('./apps/worker/src/logger.ts').then((m) => m.createLogger('info', 'pretty').info('hello'))";
  const base = { ...process.env };
  delete base.FORCE_COLOR;
  delete base.NO_COLOR;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
    cwd: root,
    env: { ...base, ...env },
    encoding: 'utf8',
  });
  expect(res.stderr).toBe('');
  expect(res.stdout).toContain('hello');
  return res.stdout;
}

describe('pretty logs', () => {
  it('are plain text into a pipe and with NO_COLOR', () => {
    expect(prettyLine({})).not.toContain(ESC);
    expect(prettyLine({ NO_COLOR: '1' })).not.toContain(ESC);
  });

  it('are coloured with FORCE_COLOR (what npm start sets for its services on a terminal)', () => {
    expect(prettyLine({ FORCE_COLOR: '1' })).toContain(ESC);
  });
});
