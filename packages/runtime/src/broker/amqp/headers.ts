/**
 * AMQP message headers (field tables) as Celery's py-amqp and RabbitMQ read them. See
 * shared/rabbitmq-notes.md §1.6.
 *
 * Encoding: amqplib guesses a tag for every JS number: `b` (int8) for -128..127, `s` (int16) up to 32767,
 * then `I` and `l`. py-amqp ≤ 5.3.1 (Celery 5.2.6 here) reads `b` as unsigned and `s` as a short string, so a
 * header such as `retries: 300` reaches a Celery worker garbled, or breaks its consumer. `encodeHeaders`
 * therefore types every number explicitly through amqplib's `{'!': type, value}` trapdoor: integers as `I`
 * (int32) or `l` (int64), the rest as `d` (double); null is `V`, lists `A`, objects `F`, recursively.
 * Known limit: py-amqp ≤ 5.3.1 reads `l` as unsigned, so an integer below -2^31 reaches Celery as v + 2^64
 * (py-amqp#465 fixes it). `L` would be read right by py-amqp but kills every unpatched amqplib consumer's
 * connection (amqplib cannot decode it), so Lovage writes the errata's `l`, as RabbitMQ itself does.
 *
 * Decoding: `decodeHeaderTable` reads every tag RabbitMQ's parser reads (errata tags plus `L`, which py-amqp
 * writes for |v| ≥ 2^31, as signed 64-bit), checking every length against the table, so a bad table throws
 * a MalformedMessageError instead of running past its end. Values come out as amqplib gives them (numbers,
 * strings, booleans, null, arrays, objects, Buffer for `x`, `{'!': 'timestamp'|'decimal', value}` for `T`
 * and `D`), except 64-bit integers beyond ±(2^53 - 1): those come out as their decimal string (amqplib makes
 * them a Number that has lost digits; a BigInt would make every JSON step after the broker throw: the
 * protocol, dead-letter and event encoders refuse bigint). `encodeHeaders` writes such a string back as a
 * string (`S`), not as `l`.
 */
import { EncodeError, MalformedMessageError } from '../../errors';

/** The reason a worker dead-letters a message whose headers could not be read. */
export const UNDECODABLE_HEADER_REASON = 'undecodable header';

/** Tables nested deeper than this are refused both ways (py-amqp recurses once per level). */
const MAX_DEPTH = 64;
const INT32_LIMIT = 2 ** 31;
const INT64_LIMIT = 2 ** 63;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** amqplib's explicitly typed field value (`lib/codec.js` `encodeFieldValue`). */
export interface TypedFieldValue {
  '!': string;
  value: unknown;
}

/** Types amqplib's decoder produces and the encoder passes through unchanged. */
const PASSED_THROUGH_TYPES = new Set(['timestamp', 'decimal']);

function keyPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** Sets a key without ever touching the prototype (a header may be called `__proto__`). */
function put(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

function encodeNumber(v: number): TypedFieldValue {
  if (Number.isInteger(v)) {
    if (v >= -INT32_LIMIT && v < INT32_LIMIT) return { '!': 'int', value: v };
    if (v >= -INT64_LIMIT && v < INT64_LIMIT) return { '!': 'long', value: v };
  }
  return { '!': 'double', value: v };
}

/**
 * What a header cannot carry, found while encoding. Its trail of keys and indexes is filled in as it leaves
 * each level; `encodeHeaders` turns it into an EncodeError with the path (a path string built per value
 * doubled the cost of encoding).
 */
class Unencodable {
  readonly trail: (string | number)[] = [];
  constructor(readonly problem: string) {}
}

function encodeBigInt(v: bigint): TypedFieldValue {
  if (v >= -BigInt(INT32_LIMIT) && v < BigInt(INT32_LIMIT)) return { '!': 'int', value: Number(v) };
  if (v >= -(1n << 63n) && v < 1n << 63n) return { '!': 'long', value: v };
  throw new Unencodable(`${v} does not fit a signed 64-bit header integer`);
}

function isTypedPassThrough(v: object): v is TypedFieldValue {
  const tag = (v as { '!'?: unknown })['!'];
  return (
    typeof tag === 'string' && PASSED_THROUGH_TYPES.has(tag) && Object.keys(v).length === 2 && 'value' in v
  );
}

/** Runs `encode` for one key or index, adding it to the trail of what it throws. */
function at<T>(step: string | number, encode: () => T): T {
  try {
    return encode();
  } catch (err) {
    if (err instanceof Unencodable) err.trail.unshift(step);
    throw err;
  }
}

function encodeTable(table: object, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(table)) {
    const value = (table as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const encoded = at(key, () => {
      // A UTF-16 unit is at most 3 UTF-8 bytes, so only names over 85 units need measuring.
      if (key.length > 85 && Buffer.byteLength(key) > 255)
        throw new Unencodable('a header name is at most 255 bytes');
      return encodeValue(value, depth);
    });
    if (key === '__proto__') put(out, key, encoded);
    else out[key] = encoded;
  }
  return out;
}

function encodeValue(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return encodeNumber(value);
    case 'bigint':
      return encodeBigInt(value);
    case 'undefined':
      return null;
    case 'function':
    case 'symbol':
      throw new Unencodable(`a ${typeof value} cannot be a header value`);
  }
  if (value === null) return null;
  if (depth >= MAX_DEPTH) throw new Unencodable(`nested deeper than ${MAX_DEPTH} levels (a cycle?)`);
  const obj = value as object;
  if (Buffer.isBuffer(obj)) return obj;
  if (obj instanceof Uint8Array) return Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength);
  if (obj instanceof Date) {
    if (Number.isNaN(obj.getTime())) throw new Unencodable('invalid Date');
    return obj.toISOString();
  }
  if (Array.isArray(obj)) return obj.map((item, i) => at(i, () => encodeValue(item, depth + 1)));
  const proto = Object.getPrototypeOf(obj) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    const name = (proto as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
    throw new Unencodable(`instance of class ${name} cannot be a header value`);
  }
  if (isTypedPassThrough(obj)) return obj;
  const table = encodeTable(obj, depth + 1);
  // amqplib reads a nested object with an own `!` key as a typed value; a table that has one is sent
  // through the `object` type explicitly, which amqplib encodes as `F` without looking at its keys.
  return Object.hasOwn(table, '!') ? { '!': 'object', value: table } : table;
}

function spell(trail: readonly (string | number)[]): string {
  let path = 'headers';
  for (const step of trail) path = typeof step === 'number' ? `${path}[${step}]` : keyPath(path, step);
  return path;
}

/**
 * Lovage's headers (protocol v2 `OutgoingMessage.headers`) as amqplib's publish `headers` option, every
 * number typed so that no `b`, `s` or `L` reaches the wire. `undefined` values are left out of tables and
 * become null in lists (as JSON); a Date becomes its ISO string. Throws EncodeError naming the path of a
 * value a header cannot carry (a class instance, a function, a bigint beyond int64, a name over 255 bytes).
 */
export function encodeHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  try {
    return encodeTable(headers, 0);
  } catch (err) {
    if (err instanceof Unencodable) throw new EncodeError(spell(err.trail), err.problem);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Decoding

/** A 64-bit integer as a number when exact, else as its decimal string (see the file's header). */
function int64(v: bigint): number | string {
  return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v.toString();
}

const readSigned64 = (buf: Buffer, at: number) => int64(buf.readBigInt64BE(at));

/** The fixed-width field types: tag → [bytes, reader], as RabbitMQ's parser reads them. */
const FIXED_WIDTH = new Map<string, readonly [number, (buf: Buffer, at: number) => unknown]>([
  ['I', [4, (buf, at) => buf.readInt32BE(at)]],
  ['t', [1, (buf, at) => buf[at] !== 0]],
  ['l', [8, readSigned64]],
  // py-amqp's tag for |v| ≥ 2^31; RabbitMQ reads it as signed 64-bit too.
  ['L', [8, readSigned64]],
  ['d', [8, (buf, at) => buf.readDoubleBE(at)]],
  ['b', [1, (buf, at) => buf.readInt8(at)]],
  ['B', [1, (buf, at) => buf.readUInt8(at)]],
  ['s', [2, (buf, at) => buf.readInt16BE(at)]],
  ['u', [2, (buf, at) => buf.readUInt16BE(at)]],
  ['i', [4, (buf, at) => buf.readUInt32BE(at)]],
  ['f', [4, (buf, at) => buf.readFloatBE(at)]],
  ['T', [8, (buf, at) => ({ '!': 'timestamp', value: int64(buf.readBigUInt64BE(at)) })]],
  ['D', [5, (buf, at) => ({ '!': 'decimal', value: { places: buf[at], digits: buf.readUInt32BE(at + 1) } })]],
]);

/**
 * Reads one table. Paths are kept as a trail of keys and indexes and spelt out only for an error: building
 * a path string per value tripled the cost of a header frame.
 */
class TableReader {
  private pos = 0;
  private readonly trail: (string | number)[] = [];
  constructor(private readonly buf: Buffer) {}

  private fail(problem: string): never {
    const path = spell(this.trail);
    throw new MalformedMessageError(`${UNDECODABLE_HEADER_REASON}: ${path}: ${problem} (byte ${this.pos})`);
  }

  /** The start of the next `n` bytes, which must lie before `end`. */
  private take(n: number, end: number): number {
    const at = this.pos;
    if (at + n > end) this.fail(`needs ${n} bytes, the table has ${end - at} left`);
    this.pos = at + n;
    return at;
  }

  /** The end of a length-prefixed part (string, bytes, table, list) that must lie before `end`. */
  private sized(end: number): number {
    const len = this.buf.readUInt32BE(this.take(4, end));
    if (this.pos + len > end) this.fail(`declares ${len} bytes, the table has ${end - this.pos} left`);
    return this.pos + len;
  }

  table(end: number, depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    const out: Record<string, unknown> = {};
    const { buf, trail } = this;
    while (this.pos < end) {
      const len = buf[this.take(1, end)]!;
      const at = this.take(len, end);
      const key = buf.toString('utf8', at, at + len);
      trail.push(key);
      const value = this.value(end, depth);
      trail.pop();
      if (key === '__proto__') put(out, key, value);
      else out[key] = value;
    }
    return out;
  }

  private array(end: number, depth: number): unknown[] {
    if (depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    const out: unknown[] = [];
    const { trail } = this;
    while (this.pos < end) {
      trail.push(out.length);
      out.push(this.value(end, depth));
      trail.pop();
    }
    return out;
  }

  private value(end: number, depth: number): unknown {
    const { buf } = this;
    const tag = buf[this.take(1, end)]!;
    const type = String.fromCharCode(tag);
    const fixed = FIXED_WIDTH.get(type);
    if (fixed) return fixed[1](buf, this.take(fixed[0], end));
    switch (type) {
      case 'S': {
        const stop = this.sized(end);
        const s = buf.toString('utf8', this.pos, stop);
        this.pos = stop;
        return s;
      }
      case 'V':
        return null;
      case 'A':
        return this.array(this.sized(end), depth + 1);
      case 'F':
        return this.table(this.sized(end), depth + 1);
      case 'x': {
        const stop = this.sized(end);
        const bytes = Buffer.from(buf.subarray(this.pos, stop));
        this.pos = stop;
        return bytes;
      }
      default:
        this.pos -= 1;
        return this.fail(`unknown field type tag 0x${tag.toString(16).padStart(2, '0')}`);
    }
  }
}

/**
 * Reads a field table's content (the bytes after its 4-byte length, as in a content header's `headers`).
 * Throws MalformedMessageError, its reason starting with `undecodable header`, on an unknown tag, a length
 * running past the table or nesting deeper than 64 levels.
 */
export function decodeHeaderTable(table: Buffer): Record<string, unknown> {
  return new TableReader(table).table(table.length, 0);
}
