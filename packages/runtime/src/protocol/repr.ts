/**
 * Python `repr()` of JSON-like values, for the display-only `argsrepr`/`kwargsrepr` headers and event
 * fields that Celery consoles show. Cut to 1024 characters, as Celery does.
 */
const MAX = 1024;

function str(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch < ' ') out += `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return quote + out + quote;
}

export function pyRepr(value: unknown, depth = 0): string {
  if (depth > 32) return '...';
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'nan';
    if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
    return String(value);
  }
  if (typeof value === 'string') return str(value);
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return str(value.toISOString());
  if (Array.isArray(value)) return `[${value.map((v) => pyRepr(v, depth + 1)).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([k, v]) => `${str(k)}: ${pyRepr(v, depth + 1)}`).join(', ')}}`;
  }
  return str(String(value));
}

function cut(s: string): string {
  return s.length > MAX ? `${s.slice(0, MAX - 3)}...` : s;
}

/** `(2,)`, `(1, 'a')`, `()`: the repr of a Python tuple of positional arguments. */
export function argsRepr(args: readonly unknown[]): string {
  const inner = args.map((a) => pyRepr(a)).join(', ');
  return cut(args.length === 1 ? `(${inner},)` : `(${inner})`);
}

export function kwargsRepr(kwargs: Record<string, unknown>): string {
  return cut(pyRepr(kwargs));
}
