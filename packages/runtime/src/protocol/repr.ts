/**
 * Python `repr()` of JSON-like values, for the display-only `argsrepr`/`kwargsrepr` headers and event
 * fields that Celery consoles show. Cut to 1024 characters, as Celery does, and built only as far as the cut:
 * a 10 MB argument costs what its first kilobyte costs (the whole repr used to be built, then cut).
 */
const MAX = 1024;

/**
 * Collects a repr's pieces until `left` characters are written. A piece that does not fit is cut, `mark`
 * follows the cut, and writing stops (`full`); closing brackets (`close`) are still written after a cut, so
 * Celery's `saferepr` shape `[1, 2...]` comes out of the same walk.
 */
class Sink {
  private readonly parts: string[] = [];
  private cut = false;
  constructor(
    private left: number,
    private readonly mark = '',
  ) {}

  get full(): boolean {
    return this.cut;
  }

  put(s: string): void {
    if (this.cut || s.length === 0) return;
    if (s.length <= this.left) {
      this.parts.push(s);
      this.left -= s.length;
      return;
    }
    this.parts.push(s.slice(0, this.left), this.mark);
    this.left = 0;
    this.cut = true;
  }

  /** A closing bracket: written even after the cut. */
  close(s: string): void {
    if (this.cut) this.parts.push(s);
    else this.put(s);
  }

  toString(): string {
    return this.parts.join('');
  }
}

function escape(ch: string, quote: string): string {
  if (ch === quote || ch === '\\') return `\\${ch}`;
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  if (ch < ' ') return `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`;
  return ch;
}

function str(s: string, out: Sink): void {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  out.put(quote);
  let chunk = '';
  for (const ch of s) {
    chunk += escape(ch, quote);
    if (chunk.length >= 256) {
      out.put(chunk);
      chunk = '';
      if (out.full) return;
    }
  }
  out.put(chunk);
  out.put(quote);
}

function write(value: unknown, out: Sink, depth: number): void {
  if (out.full) return;
  if (depth > 32) return out.put('...');
  if (value === null || value === undefined) return out.put('None');
  if (value === true) return out.put('True');
  if (value === false) return out.put('False');
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return out.put('nan');
    if (!Number.isFinite(value)) return out.put(value > 0 ? 'inf' : '-inf');
    return out.put(String(value));
  }
  if (typeof value === 'string') return str(value, out);
  if (typeof value === 'bigint') return out.put(value.toString());
  if (value instanceof Date) return str(value.toISOString(), out);
  if (Array.isArray(value)) {
    out.put('[');
    for (let i = 0; i < value.length && !out.full; i++) {
      if (i > 0) out.put(', ');
      write(value[i], out, depth + 1);
    }
    return out.close(']');
  }
  if (typeof value === 'object') {
    out.put('{');
    let i = 0;
    for (const k in value as Record<string, unknown>) {
      if (out.full) break;
      if (!Object.hasOwn(value, k)) continue;
      if (i++ > 0) out.put(', ');
      str(k, out);
      out.put(': ');
      write((value as Record<string, unknown>)[k], out, depth + 1);
    }
    return out.close('}');
  }
  str(String(value), out);
}

export function pyRepr(value: unknown, depth = 0): string {
  const out = new Sink(Infinity);
  write(value, out, depth);
  return out.toString();
}

/**
 * Python `repr()` cut to about `maxlen` characters, as Celery's `saferepr(o, maxlen)`: the walk stops once the
 * budget is spent (a 10 MB value costs what its first `maxlen` characters cost), the cut is marked `...` and
 * the brackets still open are closed: `[1, 2, 3...]`.
 */
export function saferepr(value: unknown, maxlen = MAX): string {
  const out = new Sink(maxlen, '...');
  write(value, out, 0);
  return out.toString();
}

/** At most MAX characters: the first MAX - 3 and `...` when longer (the repr is built no further). */
function bounded(build: (out: Sink) => void): string {
  const out = new Sink(MAX + 1);
  build(out);
  const s = out.toString();
  return s.length > MAX ? `${s.slice(0, MAX - 3)}...` : s;
}

/** `(2,)`, `(1, 'a')`, `()`: the repr of a Python tuple of positional arguments. */
export function argsRepr(args: readonly unknown[]): string {
  return bounded((out) => {
    out.put('(');
    for (let i = 0; i < args.length && !out.full; i++) {
      if (i > 0) out.put(', ');
      write(args[i], out, 0);
    }
    out.put(args.length === 1 ? ',)' : ')');
  });
}

export function kwargsRepr(kwargs: Record<string, unknown>): string {
  return bounded((out) => write(kwargs, out, 0));
}
