/**
 * Node names as Celery builds them (celery/utils/nodenames.py): `name@host`, where a name without `@` is
 * taken as the host part (`-n foo` gives `lovage@foo`), and `%h` expands to the full host name, `%n` to its
 * first label, `%d` to its domain and `%%` to `%`.
 */
import os from 'node:os';

export const DEFAULT_NODENAME = 'lovage@%h';

export function expandHostname(template: string, host: string = os.hostname()): string {
  const node = template.includes('@') ? template : `lovage@${template}`;
  const dot = host.indexOf('.');
  const name = dot === -1 ? host : host.slice(0, dot);
  const domain = dot === -1 ? '' : host.slice(dot + 1);
  return node.replace(/%([hnd%])/g, (_m, c: string) =>
    c === 'h' ? host : c === 'n' ? name : c === 'd' ? domain : '%',
  );
}
