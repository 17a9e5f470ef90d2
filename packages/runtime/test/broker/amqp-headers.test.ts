/**
 * The AMQP header codec (src/broker/amqp/headers.ts, amqplib-patch.ts) against captured py-amqp bytes, live
 * py-amqp (Celery 5.2.6's, /usr/bin/python3) and the machine's RabbitMQ, each way.
 *
 * Python side: ./fixtures/py_amqp_headers.py. The captured bytes below are its `fixture` output: the
 * application_headers table of a protocol-v2 task message made by Celery's own `app.amqp.as_task_v2`, plus
 * integers of every width (`L` for |v| ≥ 2^31), a float and nested tables and lists, written by py-amqp
 * 5.1.1's `dumps('F', ...)`; and the properties around it as py-amqp's `Message._serialize_properties()`
 * sends them. Regenerate with `/usr/bin/python3 fixtures/py_amqp_headers.py fixture`.
 *
 * RabbitMQ: one vhost `lovage-hdr-<uuid>` for the file (rabbitmqctl), deleted in afterAll.
 */
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import amqplib, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeHeaderTable,
  encodeHeaders,
  installAmqplibHeaderDecoder,
  undecodableHeaders,
} from '../../src/broker/amqp';
import { EncodeError, MalformedMessageError } from '../../src/errors';
import { decodeTaskMessage, encodeTaskMessage } from '../../src/protocol/message';

const PYTHON = '/usr/bin/python3'; // the python3 on PATH has no py-amqp
const PY_SCRIPT = fileURLToPath(new URL('./fixtures/py_amqp_headers.py', import.meta.url));
const TASK_ID = '6b1c3e1e-5c6b-4c57-9d8e-1f0d3a2b4c5d';

/** py-amqp's `dumps('F', [headers])`: the table's 4-byte length, then its content. */
const PY_TABLE = Buffer.from(
  [
    '0000023e046c616e6753000000027079047461736b53000000097461736b732e616464026964530000002436623163336531',
    '652d356336622d346335372d396438652d31663064336132623463356406736861646f775603657461560765787069726573',
    '560567726f7570560b67726f75705f696e64657856077265747269657349000000030974696d656c696d6974410000000256',
    '5607726f6f745f6964530000002436623163336531652d356336622d346335372d396438652d316630643361326234633564',
    '09706172656e745f696456086172677372657072530000000628322c2033290a6b77617267737265707253000000087b277a',
    '273a20317d066f726967696e530000000c67656e3140666978747572650d69676e6f72655f726573756c747400036269674c',
    '0000000080000000066269676765724c000001000000000007626967676573744c7fffffffffffffff06756e736166654c00',
    '20000000000001076e65675f6269674cffffff0000000000076e65675f6d696e4c800000000000000005736d616c6c490000',
    '007f036d6964490000012c076931365f6d61784900007fff066933326973684900009c40076933325f6d696e4cffffffff80',
    '000000036e656749ffffff7f05726174696f643fd0000000000000067374616d7073460000003d0464656570460000003301',
    '6e4c0000000200000000046c697374410000001e4900000001565300000001784c00000008000000004600000004016b7401',
    '05656d7074794600000000096e6f6e655f6c69737441000000025656',
  ].join(''),
  'hex',
);
/**
 * py-amqp's properties are these bytes around the table: flags 0xfc00 (content type, encoding, headers,
 * delivery mode, priority, correlation id), `application/json`, `utf-8` | table | delivery mode 2, priority
 * 0, correlation id = the task id.
 */
const PY_PROPERTIES = Buffer.concat([
  Buffer.from('fc00106170706c69636174696f6e2f6a736f6e057574662d38', 'hex'),
  PY_TABLE,
  Buffer.from(`020024${Buffer.from(TASK_ID).toString('hex')}`, 'hex'),
]);

/** What the table holds, as Lovage reads it: int64 beyond ±(2^53 - 1) as decimal strings. */
const PY_HEADERS = {
  lang: 'py',
  task: 'tasks.add',
  id: TASK_ID,
  shadow: null,
  eta: null,
  expires: null,
  group: null,
  group_index: null,
  retries: 3,
  timelimit: [null, null],
  root_id: TASK_ID,
  parent_id: null,
  argsrepr: '(2, 3)',
  kwargsrepr: "{'z': 1}",
  origin: 'gen1@fixture',
  ignore_result: false,
  big: 2 ** 31,
  bigger: 2 ** 40,
  biggest: '9223372036854775807',
  unsafe: '9007199254740993',
  neg_big: -(2 ** 40),
  neg_min: '-9223372036854775808',
  small: 127,
  mid: 300,
  i16_max: 32767,
  i32ish: 40000,
  i32_min: -(2 ** 31),
  neg: -129,
  ratio: 0.25,
  stamps: { deep: { n: 2 ** 33, list: [1, null, 'x', 2 ** 35, { k: true }] } },
  empty: {},
  none_list: [null, null],
};
const PY_BODY = '[[2, 3], {"z": 1}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]';

// amqplib's own modules, as the patch reaches them (package.json `exports` hides lib/).
const amqplibLib = join(dirname(createRequire(import.meta.url).resolve('amqplib')), 'lib');
const load = createRequire(import.meta.url);
const { Connection } = load(join(amqplibLib, 'connection.js')) as {
  Connection: new (stream: PassThrough) => { rest: Buffer; recvFrame(): unknown };
};
const codec = load(join(amqplibLib, 'codec.js')) as {
  encodeTable(buffer: Buffer, val: unknown, offset: number): number;
};

/** A basic content-header frame on channel 1 carrying `properties` (and announcing a 3-byte body). */
function headerFrame(properties: Buffer): Buffer {
  const payload = Buffer.alloc(12 + properties.length);
  payload.writeUInt16BE(60, 0);
  payload.writeBigUInt64BE(3n, 4);
  properties.copy(payload, 12);
  const frame = Buffer.alloc(8 + payload.length);
  frame.writeUInt8(2, 0);
  frame.writeUInt16BE(1, 1);
  frame.writeUInt32BE(payload.length, 3);
  payload.copy(frame, 7);
  frame.writeUInt8(0xce, 7 + payload.length);
  return frame;
}

/** Properties with content type `x` and the given headers table content. */
function propertiesWithTable(table: Buffer): Buffer {
  const head = Buffer.from('a000017800000000', 'hex');
  head.writeUInt32BE(table.length, 4);
  return Buffer.concat([head, table]);
}

/** What amqplib's connection makes of one frame, read the way it reads the socket. */
function receive(frame: Buffer): { id: number; size: number; fields: Record<string, unknown> } {
  const conn = new Connection(new PassThrough());
  conn.rest = frame;
  return conn.recvFrame() as { id: number; size: number; fields: Record<string, unknown> };
}

/** amqplib's encoding of a headers table (with its 4-byte length), as its publish writes it. */
function amqplibTable(headers: Record<string, unknown>): Buffer {
  const buf = Buffer.alloc(65536);
  return Buffer.from(buf.subarray(0, codec.encodeTable(buf, headers, 0)));
}

function py(args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [PY_SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`py_amqp_headers.py ${args[0]} exited ${code}: ${err}`)),
    );
    child.stdin.end(input ?? '');
  });
}

type PyTyped =
  | null
  | { int: string }
  | { float: number }
  | { str: string }
  | { bool: boolean }
  | { dict: Record<string, PyTyped> }
  | PyTyped[];

/** The script's typed JSON with floats as numbers (Python's repr and JS's String differ on some). */
function fromPy(v: unknown): PyTyped {
  if (Array.isArray(v)) return v.map(fromPy);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if ('float' in o) return { float: Number(o.float) };
    if ('dict' in o) {
      return { dict: Object.fromEntries(Object.entries(o.dict as object).map(([k, x]) => [k, fromPy(x)])) };
    }
  }
  return v as PyTyped;
}

/** What Celery should see for a JS header value. */
function pyExpected(v: unknown): PyTyped {
  if (v === null) return null;
  if (Array.isArray(v)) return v.map(pyExpected);
  switch (typeof v) {
    case 'number':
      // As encodeHeaders types it: I or l up to 64 bits, d for the rest (1e300 is an integer to JS).
      return Number.isInteger(v) && Math.abs(v) < 2 ** 63 ? { int: BigInt(v).toString() } : { float: v };
    case 'string':
      return { str: v };
    case 'boolean':
      return { bool: v };
  }
  return {
    dict: Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, pyExpected(x)])),
  };
}

async function pyDecode(table: Buffer): Promise<PyTyped> {
  return fromPy(JSON.parse(await py(['decode'], table.toString('hex'))));
}

describe('py-amqp → Lovage: captured bytes', () => {
  // First, before anything installs the decoder: the failure this file exists for, and proof that importing
  // src/broker/amqp (above) does not patch amqplib by itself.
  it('unpatched amqplib throws on the frame (py-amqp writes L), which would close its connection', () => {
    expect(() => receive(headerFrame(PY_PROPERTIES))).toThrow(/Unexpected type tag "L"/);
  });

  it('decodeHeaderTable reads the whole table right, Celery headers included', () => {
    expect(decodeHeaderTable(PY_TABLE.subarray(4))).toEqual(PY_HEADERS);
  });

  it('with the decoder installed, amqplib hands over every property and the headers, and the task decodes', () => {
    installAmqplibHeaderDecoder();
    installAmqplibHeaderDecoder(); // idempotent
    const frame = receive(headerFrame(PY_PROPERTIES));
    expect(frame.id).toBe(60);
    expect(frame.size).toBe(3);
    expect(frame.fields).toMatchObject({
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      priority: 0,
      correlationId: TASK_ID,
      headers: PY_HEADERS,
    });
    expect(undecodableHeaders(frame.fields)).toBeUndefined();
    const task = decodeTaskMessage({
      headers: frame.fields.headers as Record<string, unknown>,
      properties: {},
      body: PY_BODY,
      contentType: 'application/json',
    });
    expect(task).toMatchObject({ id: TASK_ID, name: 'tasks.add', retries: 3, eta: null, expires: null });
    expect(task.timeLimit).toEqual([null, null]);
    expect(task.args).toEqual([2, 3]);
  });

  it('a frame split across socket reads is put together before it is decoded', () => {
    installAmqplibHeaderDecoder();
    const frame = headerFrame(PY_PROPERTIES);
    const stream = new PassThrough();
    const conn = new Connection(stream);
    conn.rest = frame.subarray(0, 100);
    expect(conn.recvFrame()).toBe(false);
    stream.write(frame.subarray(100));
    expect((conn.recvFrame() as { fields: { headers: unknown } }).fields.headers).toEqual(PY_HEADERS);
  });

  it('reads every tag RabbitMQ reads: b B s u I i l L f d D T t S x V A F', () => {
    const table = Buffer.from(
      [
        '01 62 62 ff', // b int8 -1
        '01 42 42 ff', // B uint8 255
        '01 73 73 ff fe', // s int16 -2
        '01 75 75 ff fe', // u uint16 65534
        '01 49 49 ff ff ff fe', // I int32 -2
        '01 69 69 ff ff ff fe', // i uint32 4294967294
        '01 6c 6c ff ff ff ff ff ff ff fe', // l int64 -2
        '01 4c 4c 00 00 00 01 00 00 00 00', // L signed 64 (as RabbitMQ reads it) 2^32
        '01 66 66 3f c0 00 00', // f float 1.5
        '01 64 64 bf f8 00 00 00 00 00 00', // d double -1.5
        '01 44 44 02 00 00 30 39', // D decimal 123.45
        '01 54 54 00 00 00 00 65 53 f1 00', // T timestamp 1700000000
        '01 74 74 01', // t true
        '01 53 53 00 00 00 02 c3 a9', // S "é"
        '01 78 78 00 00 00 02 00 ff', // x bytes
        '01 56 56', // V null
        '01 41 41 00 00 00 06 62 01 56 74 00 56', // A [1, null, false, null]
        '01 46 46 00 00 00 04 01 6b 62 07', // F {k: 7}
        '09 5f 5f 70 72 6f 74 6f 5f 5f 62 01', // a key named __proto__ is a key, not a prototype
      ]
        .join(' ')
        .replaceAll(' ', ''),
      'hex',
    );
    const decoded = decodeHeaderTable(table);
    expect(decoded).toEqual({
      b: -1,
      B: 255,
      s: -2,
      u: 65534,
      I: -2,
      i: 4294967294,
      l: -2,
      L: 2 ** 32,
      f: 1.5,
      d: -1.5,
      D: { '!': 'decimal', value: { places: 2, digits: 12345 } },
      T: { '!': 'timestamp', value: 1700000000 },
      t: true,
      S: 'é',
      x: Buffer.from([0, 0xff]),
      V: null,
      A: [1, null, false, null],
      F: { k: 7 },
      ['__proto__']: 1,
    });
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.keys(decoded)).toContain('__proto__');
  });

  it('a table it cannot read throws MalformedMessageError saying where, never reads past its end', () => {
    const cases: [string, RegExp][] = [
      ['03 62 61 64 5a 00', /^undecodable header: headers\.bad: unknown field type tag 0x5a \(byte 4\)/],
      ['01 6b 53 00 00 00 09 61', /headers\.k: declares 9 bytes, the table has 1 left/],
      ['01 6b 49 00 00', /headers\.k: needs 4 bytes, the table has 2 left/],
      ['05 6b', /headers: needs 5 bytes, the table has 1 left/],
      ['01 6b 46 00 00 00 02 01 6a', /headers\.k\.j: needs 1 bytes, the table has 0 left/],
      ['01 6b 41 00 00 00 01 55 56', /headers\.k\[0\]: unknown field type tag 0x55/],
    ];
    for (const [hex, reason] of cases) {
      const table = Buffer.from(hex.replaceAll(' ', ''), 'hex');
      expect(() => decodeHeaderTable(table)).toThrow(MalformedMessageError);
      expect(() => decodeHeaderTable(table)).toThrow(reason);
    }
    // 1000 nested lists: refused at 64 levels, before the stack is at risk.
    const deep = Buffer.alloc(3 + 5 * 1000);
    deep.write('016b', 0, 'hex');
    for (let i = 0; i < 1000; i++) {
      deep.writeUInt8(0x41, 2 + 5 * i);
      deep.writeUInt32BE(5 * (999 - i), 3 + 5 * i);
    }
    expect(() => decodeHeaderTable(deep.subarray(0, 2 + 5 * 1000))).toThrow(/nested deeper than 64 levels/);
  });

  it('a message whose table cannot be read reaches the channel without headers, marked, other properties kept', () => {
    installAmqplibHeaderDecoder();
    const table = Buffer.from('026f6b4900000001036261645a00', 'hex');
    const frame = receive(headerFrame(propertiesWithTable(table)));
    expect(frame.fields.contentType).toBe('x');
    expect(frame.fields.headers).toBeUndefined();
    expect(undecodableHeaders(frame.fields)).toEqual({
      reason: 'undecodable header: headers.bad: unknown field type tag 0x5a (byte 12)',
      raw: table,
    });
    // Properties that end inside the table: nothing is readable, still no throw.
    const cut = propertiesWithTable(table).subarray(0, 12);
    const broken = receive(headerFrame(cut));
    expect(broken.fields).toEqual({});
    expect(undecodableHeaders(broken.fields)?.reason).toMatch(/^undecodable header: properties: /);
    expect(undecodableHeaders(broken.fields)?.raw).toEqual(cut);
  });
});

/** Every integer width's edges, floats, null, nested tables and lists, and a real Lovage task's headers. */
const LOVAGE_HEADERS: Record<string, unknown> = {
  ...encodeTaskMessage({
    id: TASK_ID,
    name: 'tasks.add',
    args: [2, 3],
    kwargs: {},
    origin: 'gen1@lovage',
    retries: 300,
    eta: new Date('2026-12-07T21:00:00.123Z'),
  }).headers,
  zero: 0,
  i8_max: 127,
  i8_over: 128,
  three_hundred: 300,
  i16_max: 32767,
  i16_over: 40000,
  i32_max: 2 ** 31 - 1,
  i32_over: 2 ** 31,
  forty: 2 ** 40,
  max_safe: Number.MAX_SAFE_INTEGER,
  minus_one: -1,
  i8_min: -128,
  i8_under: -129,
  i16_min: -32768,
  i16_under: -32769,
  i32_min: -(2 ** 31),
  half: 0.5,
  neg_float: -1.25,
  huge_float: 1e300,
  nothing: null,
  flag: true,
  text: 'héllo ✓',
  nested: { a: { b: [1, 300, 2 ** 40, null, 's', false, { c: -40000 }] }, empty: {} },
  list: [0.5, [128, [32768]], []],
};

describe('Lovage → py-amqp', () => {
  it('every integer is typed I or l, never b, s or L; floats d; null V', () => {
    const tagOf = (v: unknown): string => String.fromCharCode(amqplibTable(encodeHeaders({ k: v }))[6]!);
    for (const v of [0, 127, 128, 300, 32767, 40000, -1, -129, -32769, 2 ** 31 - 1, -(2 ** 31)]) {
      expect([v, tagOf(v)]).toEqual([v, 'I']);
    }
    for (const v of [2 ** 31, 2 ** 40, -(2 ** 31) - 1, Number.MAX_SAFE_INTEGER, 2n ** 62n, 2 ** 62]) {
      expect([v, tagOf(v)]).toEqual([v, 'l']);
    }
    for (const v of [0.5, 2 ** 64, NaN, Infinity]) expect([v, tagOf(v)]).toEqual([v, 'd']);
    expect(tagOf(null)).toBe('V');
    expect(amqplibTable(encodeHeaders({ k: undefined }))).toEqual(Buffer.alloc(4)); // left out
    expect(tagOf([undefined])).toBe('A');
    expect(decodeHeaderTable(amqplibTable(encodeHeaders({ l: [undefined] })).subarray(4))).toEqual({
      l: [null],
    });
  });

  it('py-amqp (Celery 5.2.6) reads every header as sent', async () => {
    const wire = amqplibTable(encodeHeaders(LOVAGE_HEADERS));
    expect(await pyDecode(wire)).toEqual(pyExpected(LOVAGE_HEADERS));
  });

  it('py-amqp 5.1.1 reads l below -2^31 as unsigned (its bug, py-amqp#465): the known limit', async () => {
    const wire = amqplibTable(encodeHeaders({ v: -(2 ** 40), w: -(2n ** 63n) }));
    expect(await pyDecode(wire)).toEqual({
      dict: { v: { int: String(2n ** 64n - 2n ** 40n) }, w: { int: String(2n ** 63n) } },
    });
  });

  it('what Lovage decoded from py-amqp is encoded back so py-amqp reads the same values', async () => {
    const back = amqplibTable(encodeHeaders(decodeHeaderTable(PY_TABLE.subarray(4))));
    // The two 64-bit ints beyond ±(2^53 - 1) were read as strings and go back as strings.
    const expected = JSON.parse(await py(['fixture'])).typed as { dict: Record<string, PyTyped> };
    expected.dict.biggest = { str: '9223372036854775807' };
    expected.dict.unsafe = { str: '9007199254740993' };
    expected.dict.neg_min = { str: '-9223372036854775808' };
    // Lovage writes -2^40 as l, which py-amqp 5.1.1 reads unsigned (the known limit above).
    expected.dict.neg_big = { int: String(2n ** 64n - 2n ** 40n) };
    expect(await pyDecode(back)).toEqual(fromPy(expected));
  });

  it('a table with a key named "!" stays a table; timestamps and decimals go back as they came', () => {
    const headers = {
      t: { '!': 'x', value: 1 },
      ts: { '!': 'timestamp', value: 1700000000 },
      dec: { '!': 'decimal', value: { places: 2, digits: 12345 } },
    };
    expect(decodeHeaderTable(amqplibTable(encodeHeaders(headers)).subarray(4))).toEqual(headers);
  });

  it('values a header cannot carry throw EncodeError naming the path', () => {
    expect(() => encodeHeaders({ a: { b: [1, new Map()] } })).toThrow(EncodeError);
    expect(() => encodeHeaders({ a: { b: [1, new Map()] } })).toThrow(
      'headers.a.b[1]: instance of class Map cannot be a header value',
    );
    expect(() => encodeHeaders({ a: 2n ** 64n })).toThrow('headers.a: 18446744073709551616 does not fit');
    expect(() => encodeHeaders({ ['k'.repeat(256)]: 1 })).toThrow('a header name is at most 255 bytes');
    expect(() => encodeHeaders({ a: [{ ['é'.repeat(128)]: 1 }] })).toThrow(
      /^headers\.a\[0\]\["é+"\]: a header/,
    );
    expect(() => encodeHeaders({ ['é'.repeat(127)]: 1, ['__proto__']: { x: 1 } })).not.toThrow();
    const proto = encodeHeaders({ ['__proto__']: { x: 1 } });
    expect(decodeHeaderTable(amqplibTable(proto).subarray(4))).toEqual({ ['__proto__']: { x: 1 } });
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => encodeHeaders(cycle)).toThrow(/nested deeper than 64 levels/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The machine's RabbitMQ

const run = promisify(execFile);
const VHOST = `lovage-hdr-${randomUUID()}`;
const URL_ = `amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(VHOST)}`;

/** Consumes `n` messages from `queue`; rejects if the connection closes or errors first. */
function nextMessages(conn: ChannelModel, ch: Channel, queue: string, n: number): Promise<ConsumeMessage[]> {
  return new Promise((resolve, reject) => {
    const got: ConsumeMessage[] = [];
    const closed = (err?: Error) => reject(new Error(`connection closed: ${err?.message ?? 'no error'}`));
    conn.once('close', closed).once('error', closed);
    ch.consume(
      queue,
      (msg) => {
        if (!msg) return;
        got.push(msg);
        if (got.length === n) {
          conn.off('close', closed).off('error', closed);
          resolve(got);
        }
      },
      { noAck: true },
    ).catch(reject);
  });
}

/**
 * A TCP proxy to RabbitMQ that changes, in content-header frames going to the client, the tag after the
 * header name `lovage_poison` from `S` to `Z`: how a table no decoder knows reaches a consumer (RabbitMQ
 * itself refuses such a table from a publisher with 541 INTERNAL_ERROR, so it cannot be published).
 */
function poisoningProxy(): Promise<{ port: number; close: () => Promise<void> }> {
  const marker = Buffer.from('\x0dlovage_poisonS', 'latin1');
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection(5672, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.pipe(upstream);
    let pending = Buffer.alloc(0);
    upstream.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 7 && pending.length >= 8 + pending.readUInt32BE(3)) {
        const frame = pending.subarray(0, 8 + pending.readUInt32BE(3));
        const at = frame[0] === 2 ? frame.indexOf(marker) : -1;
        if (at >= 0) frame[at + marker.length - 1] = 0x5a;
        client.write(frame);
        pending = pending.subarray(frame.length);
      }
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      const close = () =>
        new Promise<void>((done) => {
          for (const s of sockets) s.destroy();
          server.close(() => done());
        });
      resolve({ port, close });
    });
  });
}

describe('through RabbitMQ', () => {
  let conn: ChannelModel;
  let ch: Channel;

  beforeAll(async () => {
    await run('rabbitmqctl', ['add_vhost', VHOST]);
    await run('rabbitmqctl', ['set_permissions', '-p', VHOST, 'guest', '.*', '.*', '.*']);
    installAmqplibHeaderDecoder();
    conn = await amqplib.connect(URL_);
    ch = await conn.createChannel();
  }, 60_000);

  afterAll(async () => {
    await conn?.close().catch(() => undefined);
    await run('rabbitmqctl', ['delete_vhost', VHOST]);
  }, 60_000);

  it('a Celery message from py-amqp (L headers) is consumed with the right values; the connection stays up', async () => {
    const queue = `test-${randomUUID()}`;
    await ch.assertQueue(queue, { durable: false });
    const received = nextMessages(conn, ch, queue, 2);
    await py(['publish', URL_, queue]);
    await py(['publish', URL_, queue]);
    const [first, second] = await received;
    expect(first!.properties.headers).toEqual(PY_HEADERS);
    expect(first!.properties.correlationId).toBe(TASK_ID);
    expect(second!.properties.headers).toEqual(PY_HEADERS);
    expect((await ch.checkQueue(queue)).queue).toBe(queue);
  });

  it('headers published by amqplib through encodeHeaders are read right by py-amqp', async () => {
    const queue = `test-${randomUUID()}`;
    await ch.assertQueue(queue, { durable: false });
    ch.sendToQueue(queue, Buffer.from(PY_BODY), { headers: encodeHeaders(LOVAGE_HEADERS) });
    await ch.checkQueue(queue); // a round trip: the publish is in the queue
    expect(fromPy(JSON.parse(await py(['get', URL_, queue])))).toEqual(pyExpected(LOVAGE_HEADERS));
  });

  it('a table no decoder can read arrives marked undecodable, and the next message on the connection arrives', async () => {
    const proxy = await poisoningProxy();
    const viaProxy = await amqplib.connect(
      `amqp://guest:guest@127.0.0.1:${proxy.port}/${encodeURIComponent(VHOST)}`,
    );
    try {
      const pch = await viaProxy.createChannel();
      const queue = `test-${randomUUID()}`;
      await pch.assertQueue(queue, { durable: false });
      const received = nextMessages(viaProxy, pch, queue, 2);
      pch.sendToQueue(queue, Buffer.from('one'), {
        contentType: 'application/json',
        headers: encodeHeaders({ id: 'first', lovage_poison: 'S' }),
      });
      pch.sendToQueue(queue, Buffer.from('two'), { headers: encodeHeaders({ id: 'second', n: 2 ** 40 }) });
      const [poisoned, next] = await received;
      expect(poisoned!.content.toString()).toBe('one');
      expect(poisoned!.properties.contentType).toBe('application/json');
      expect(poisoned!.properties.headers).toBeUndefined();
      expect(undecodableHeaders(poisoned!.properties)?.reason).toBe(
        'undecodable header: headers.lovage_poison: unknown field type tag 0x5a (byte 27)',
      );
      expect(next!.properties.headers).toEqual({ id: 'second', n: 2 ** 40 });
      expect(undecodableHeaders(next!.properties)).toBeUndefined();
    } finally {
      await viaProxy.close().catch(() => undefined);
      await proxy.close();
    }
  });
});
