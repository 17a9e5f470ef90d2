/** Loads a Lua script that sits next to the module that uses it, once per process. */
import { readFileSync } from 'node:fs';

export function loadLua(dir: URL, name: string): string {
  return readFileSync(new URL(`${name}.lua`, dir), 'utf8');
}
