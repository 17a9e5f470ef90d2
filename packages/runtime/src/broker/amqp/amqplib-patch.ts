/**
 * Makes amqplib read message headers with Lovage's decoder (`headers.ts`), so that no header table can close
 * a connection.
 *
 * Why: amqplib decodes a message's properties inside its frame parser, before any of our code sees the
 * message. Its decoder throws on a tag it does not know, `L` included, which py-amqp writes for every header
 * integer with |v| ≥ 2^31; the throw becomes a `frameError`, which closes the whole connection; RabbitMQ
 * then delivers the unacknowledged message again on the next connection: a poison loop (amqplib#646,
 * "Unexpected type tag L", was closed unfixed; shared/rabbitmq-notes.md §1.6).
 *
 * How: amqplib offers no hook, and patching its codec export does not work: `lib/defs.js` (generated) copies
 * `codec.decodeFields` into a local when it loads, `lib/frame.js` copies `defs.decode`, `lib/connection.js`
 * copies `frame.decodeFrame`. The one seam reached through an object at run time is the method
 * `Connection.prototype.recvFrame`. The replacement does what amqplib's does (parse the next frame from
 * `this.rest`, or let amqplib's read more from the socket, which calls back into the replacement) except for
 * a basic content-header frame: its properties are decoded by amqplib without the headers table and the table
 * by `decodeHeaderTable`, always, not only when amqplib's fails: amqplib's reads a string past the table's end
 * without noticing and turns 64-bit integers into inexact Numbers. Properties that cannot be read still
 * reach the channel, without headers and marked (`undecodableHeaders`), so the consumer dead-letters that one
 * message and the connection stays up.
 *
 * `installAmqplibHeaderDecoder` is called by Lovage's AMQP adapter only (never on import of the runtime), is
 * idempotent, and checks amqplib's internals first: an amqplib that moved them makes it throw, not run
 * unpatched. The internals are those of amqplib 2.3 (`lib/connection.js`, `lib/frame.js`, `lib/defs.js`).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { decodeHeaderTable, UNDECODABLE_HEADER_REASON } from './headers';

/** A parsed frame before decoding (amqplib `lib/frame.js` `parseFrame`). */
interface RawFrame {
  type: number;
  channel: number;
  size: number;
  payload: Buffer;
  rest: Buffer;
}

/** The part of amqplib's `Connection` the replacement touches. */
interface ConnectionInternals {
  rest: Buffer;
  maxFrameSize: number;
  recvFrame(): unknown;
}

interface Internals {
  connectionProto: ConnectionInternals & Record<symbol, unknown>;
  parseFrame: (bin: Buffer, max: number) => RawFrame | false;
  decodeFrame: (frame: RawFrame) => unknown;
  decodeProperties: (classId: number, buf: Buffer) => Record<string, unknown>;
}

/** What the consumer learns about properties it could not read. */
export interface UndecodableHeaders {
  /** Starts with `undecodable header`, then what was wrong and where. */
  reason: string;
  /** The bytes that could not be read: the headers table, or every property when the rest failed too. */
  raw: Buffer;
}

const UNDECODABLE = Symbol.for('lovage.amqp.undecodableHeaders');
const INSTALLED = Symbol.for('lovage.amqp.headerDecoder');
const FRAME_HEADER = 2;
const BASIC_CLASS = 60;
const HEADERS_FLAG = 0x2000;
const CONTENT_TYPE_FLAG = 0x8000;
const CONTENT_ENCODING_FLAG = 0x4000;

function loadInternals(): Internals {
  const require = createRequire(import.meta.url);
  const lib = join(dirname(require.resolve('amqplib')), 'lib');
  const connection = require(join(lib, 'connection.js')) as { Connection?: { prototype: unknown } };
  const frame = require(join(lib, 'frame.js')) as Record<string, unknown>;
  const defs = require(join(lib, 'defs.js')) as Record<string, unknown>;
  const constants = defs.constants as Record<string, unknown> | undefined;
  const proto = connection.Connection?.prototype as Internals['connectionProto'] | undefined;
  if (
    typeof proto?.recvFrame !== 'function' ||
    typeof frame.parseFrame !== 'function' ||
    typeof frame.decodeFrame !== 'function' ||
    typeof defs.decode !== 'function' ||
    defs.BasicProperties !== BASIC_CLASS ||
    constants?.FRAME_HEADER !== FRAME_HEADER
  ) {
    throw new Error(
      'amqplib internals are not those Lovage patches (lib/connection.js Connection.prototype.recvFrame, lib/frame.js parseFrame/decodeFrame, lib/defs.js decode): check the amqplib version against src/broker/amqp/amqplib-patch.ts',
    );
  }
  return {
    connectionProto: proto,
    parseFrame: frame.parseFrame as Internals['parseFrame'],
    decodeFrame: frame.decodeFrame as Internals['decodeFrame'],
    decodeProperties: defs.decode as Internals['decodeProperties'],
  };
}

function markUndecodable(
  fields: Record<string, unknown>,
  err: unknown,
  raw: Buffer,
): Record<string, unknown> {
  const detail = err instanceof Error ? err.message : String(err);
  const reason = detail.startsWith(UNDECODABLE_HEADER_REASON)
    ? detail
    : `${UNDECODABLE_HEADER_REASON}: properties: ${detail}`;
  const marker: UndecodableHeaders = { reason, raw: Buffer.from(raw) };
  fields.headers = undefined;
  Object.defineProperty(fields, UNDECODABLE, { value: marker, enumerable: false });
  return fields;
}

/**
 * Basic properties (flags first) as amqplib's decoder gives them, the headers table read by ours. The table
 * sits after the two optional short strings (content type and encoding); amqplib is handed a copy of the
 * properties without it and with its flag cleared.
 */
function decodeBasicProperties(internals: Internals, props: Buffer): Record<string, unknown> {
  let table: Buffer | undefined;
  let fields: Record<string, unknown>;
  try {
    const flags = props.readUInt16BE(0);
    let rest = props;
    if (flags & HEADERS_FLAG) {
      let at = 2;
      if (flags & CONTENT_TYPE_FLAG) at += 1 + props.readUInt8(at);
      if (flags & CONTENT_ENCODING_FLAG) at += 1 + props.readUInt8(at);
      const end = at + 4 + props.readUInt32BE(at);
      if (end > props.length) throw new RangeError(`the headers table runs past the properties' end`);
      table = props.subarray(at + 4, end);
      rest = Buffer.concat([props.subarray(0, at), props.subarray(end)]);
      rest.writeUInt16BE(flags & ~HEADERS_FLAG, 0);
    }
    fields = internals.decodeProperties(BASIC_CLASS, rest);
  } catch (err) {
    return markUndecodable({}, err, props);
  }
  if (!table) return fields;
  try {
    fields.headers = decodeHeaderTable(table);
  } catch (err) {
    return markUndecodable(fields, err, table);
  }
  return fields;
}

/**
 * Replaces amqplib's frame reader (see the file's header). Safe to call any number of times; throws when the
 * installed amqplib's internals are not the ones this was written against.
 */
export function installAmqplibHeaderDecoder(): void {
  const internals = loadInternals();
  const proto = internals.connectionProto;
  if (proto[INSTALLED]) return;
  const { parseFrame, decodeFrame } = internals;
  const original = proto.recvFrame;
  proto.recvFrame = function recvFrame(this: ConnectionInternals): unknown {
    const frame = parseFrame(this.rest, this.maxFrameSize);
    // Not a whole frame buffered: amqplib's own reads the socket and calls this again.
    if (!frame) return original.call(this);
    this.rest = frame.rest;
    const { payload } = frame;
    if (frame.type !== FRAME_HEADER || payload.length < 12 || payload.readUInt16BE(0) !== BASIC_CLASS) {
      return decodeFrame(frame);
    }
    return {
      id: BASIC_CLASS,
      channel: frame.channel,
      size: Number(payload.readBigInt64BE(4)),
      fields: decodeBasicProperties(internals, payload.subarray(12)),
    };
  };
  Object.defineProperty(proto, INSTALLED, { value: true });
}

/**
 * Whether a delivered message's properties (amqplib's `message.properties`) came without headers because
 * they could not be read, and why. The consumer dead-letters such a message with `reason`.
 */
export function undecodableHeaders(properties: object): UndecodableHeaders | undefined {
  return (properties as Record<symbol, UndecodableHeaders | undefined>)[UNDECODABLE];
}
