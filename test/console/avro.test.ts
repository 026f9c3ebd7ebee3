/** The console's Avro decoder (console/src/avro.ts) against avro-js's encodings of the same values. */
import { describe, expect, it } from 'vitest';
import { AvroError, avroJson, decodeAvro, parseAvroSchema, parseWireFormat } from '../../console/src/avro.ts';
import { avroJsEncode as encode } from '../support/avro-js.ts';

const decode = (schema: unknown, bytes: Uint8Array) => decodeAvro(parseAvroSchema(schema), bytes);
/** Encodes with avro-js, decodes with the console's decoder. */
const roundTrip = (schema: unknown, value: unknown) => decode(schema, encode(schema, value));

/** A zig-zag varint, as Avro writes an int or long: for values avro-js cannot write (beyond 2^53). */
function zigzag(n: bigint): number[] {
  let raw = n >= 0n ? n << 1n : (-n << 1n) - 1n;
  const bytes: number[] = [];
  while (raw >= 0x80n) {
    bytes.push(Number(raw & 0x7fn) | 0x80);
    raw >>= 7n;
  }
  bytes.push(Number(raw));
  return bytes;
}

describe('decodeAvro: primitives', () => {
  it('reads null, boolean, int, long, float, double, bytes and string as avro-js writes them', () => {
    expect(roundTrip('null', null)).toBe(null);
    expect(roundTrip('boolean', true)).toBe(true);
    expect(roundTrip('boolean', false)).toBe(false);
    for (const n of [0, 1, -1, 63, -64, 64, 2 ** 31 - 1, -(2 ** 31)]) expect(roundTrip('int', n)).toBe(n);
    for (const n of [0, -1, 2 ** 40, -(2 ** 40) - 3, 2 ** 52 + 1, -(2 ** 52)]) {
      expect(roundTrip('long', n)).toBe(n);
    }
    // avro-js writes longs only to ±2^53 − 2; 2^53 − 1 is still a number.
    const largestSafe = BigInt(Number.MAX_SAFE_INTEGER);
    expect(decode('long', new Uint8Array(zigzag(largestSafe)))).toBe(Number.MAX_SAFE_INTEGER);
    expect(decode('long', new Uint8Array(zigzag(-largestSafe)))).toBe(-Number.MAX_SAFE_INTEGER);
    expect(roundTrip('float', 1.5)).toBe(1.5);
    expect(roundTrip('float', -0.25)).toBe(-0.25);
    expect(roundTrip('double', Math.PI)).toBe(Math.PI);
    expect(roundTrip('bytes', Buffer.from([0, 1, 0xfe, 0xff]))).toBe('\u0000\u0001\u00fe\u00ff');
    expect(roundTrip('string', 'crème brûlée ✓')).toBe('crème brûlée ✓');
    expect(roundTrip('string', '')).toBe('');
  });

  it('reads a long beyond 2^53 exactly, as a bigint printed with all its digits', () => {
    for (const n of [2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n)]) {
      const value = decode('long', new Uint8Array(zigzag(n)));
      expect(value).toBe(n);
      expect(avroJson({ big: value })).toBe(`{\n  "big": ${n}\n}`);
    }
  });

  it('shows a non-finite float or double as a string', () => {
    expect(roundTrip('double', Number.NaN)).toBe('NaN');
    expect(roundTrip('float', Number.POSITIVE_INFINITY)).toBe('Infinity');
  });

  it('reads a logical type as its underlying value', () => {
    const schema = { type: 'long', logicalType: 'timestamp-millis' };
    expect(decode(schema, encode('long', 1_700_000_000_000))).toBe(1_700_000_000_000);
    expect(roundTrip({ type: 'int', logicalType: 'date' }, 19_000)).toBe(19_000);
  });
});

describe('decodeAvro: complex types', () => {
  const order = {
    type: 'record',
    name: 'Order',
    namespace: 'shop',
    fields: [
      { name: 'id', type: 'long' },
      { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'PAID', 'SHIPPED'] } },
      { name: 'digest', type: { type: 'fixed', name: 'Digest', size: 4 } },
      {
        name: 'lines',
        type: {
          type: 'array',
          items: {
            type: 'record',
            name: 'Line',
            fields: [
              { name: 'sku', type: 'string' },
              { name: 'qty', type: 'int' },
              { name: 'price', type: ['null', 'double'] },
            ],
          },
        },
      },
      { name: 'tags', type: { type: 'map', values: 'string' } },
      { name: 'note', type: ['null', 'string'], default: null },
      // References to named types defined above: by short name in the namespace, and by full name.
      { name: 'previous', type: ['null', 'Status'] },
      { name: 'check', type: 'shop.Digest' },
    ],
  };

  it('reads nested records, enums, fixed, arrays, maps, unions and named references', () => {
    const value = {
      id: 42,
      status: 'PAID',
      digest: Buffer.from([0xde, 0xad, 0xbe, 0xef]),
      lines: [
        { sku: 'a-1', qty: 2, price: { double: 9.5 } },
        { sku: 'b-2', qty: 1, price: null },
      ],
      tags: { channel: 'web', region: 'eu' },
      note: { string: 'leave at the door' },
      previous: { 'shop.Status': 'NEW' },
      check: Buffer.from([1, 2, 3, 4]),
    };
    expect(roundTrip(order, value)).toEqual({
      id: 42,
      status: 'PAID',
      digest: '\u00de\u00ad\u00be\u00ef',
      lines: [
        { sku: 'a-1', qty: 2, price: 9.5 },
        { sku: 'b-2', qty: 1, price: null },
      ],
      tags: { channel: 'web', region: 'eu' },
      note: 'leave at the door',
      previous: 'NEW',
      check: '\u0001\u0002\u0003\u0004',
    });
  });

  it('reads empty arrays and maps, and arrays of arrays', () => {
    expect(roundTrip({ type: 'array', items: 'int' }, [])).toEqual([]);
    expect(roundTrip({ type: 'map', values: 'long' }, {})).toEqual({});
    const nested = { type: 'array', items: { type: 'array', items: 'string' } };
    expect(roundTrip(nested, [['a'], [], ['b', 'c']])).toEqual([['a'], [], ['b', 'c']]);
  });

  it('reads blocks with a negative count and their size in bytes, over several blocks', () => {
    const ints = [...encode('int', 5), ...encode('int', -3)];
    // Block 1: −2 items, then their size in bytes; block 2: 1 item; then the end.
    const array = new Uint8Array([
      ...zigzag(-2n),
      ...zigzag(BigInt(ints.length)),
      ...ints,
      ...zigzag(1n),
      ...encode('int', 7),
      0,
    ]);
    expect(decode({ type: 'array', items: 'int' }, array)).toEqual([5, -3, 7]);
    const entry = [...encode('string', 'k'), ...encode('boolean', true)];
    const map = new Uint8Array([...zigzag(-1n), ...zigzag(BigInt(entry.length)), ...entry, 0]);
    expect(decode({ type: 'map', values: 'boolean' }, map)).toEqual({ k: true });
  });

  it('reads a recursive record through a reference to itself', () => {
    const list = {
      type: 'record',
      name: 'Node',
      fields: [
        { name: 'value', type: 'int' },
        { name: 'next', type: ['null', 'Node'] },
      ],
    };
    const value = { value: 1, next: { Node: { value: 2, next: null } } };
    expect(roundTrip(list, value)).toEqual({ value: 1, next: { value: 2, next: null } });
  });

  it('resolves names in nested namespaces, and a name given in full', () => {
    const schema = {
      type: 'record',
      name: 'Outer',
      namespace: 'a',
      fields: [
        { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['X'] } },
        { name: 'kind2', type: 'a.Kind' },
        { name: 'kind3', type: 'Kind' },
        {
          name: 'inner',
          type: { type: 'record', name: 'Inner', namespace: 'b', fields: [{ name: 'x', type: 'int' }] },
        },
        { name: 'again', type: 'b.Inner' },
      ],
    };
    const value = { inner: { x: 1 }, again: { x: 2 }, kind: 'X', kind2: 'X', kind3: 'X' };
    expect(roundTrip(schema, value)).toEqual(value);
  });
});

describe('decodeAvro: bytes that do not match', () => {
  const schema = {
    type: 'record',
    name: 'R',
    fields: [
      { name: 's', type: 'string' },
      { name: 'n', type: 'long' },
    ],
  };

  it('says where truncated input ends', () => {
    const bytes = encode(schema, { s: 'hello', n: 300 });
    expect(() => decode(schema, bytes.subarray(0, 3))).toThrow(
      new AvroError('truncated: a string needs 5 byte(s) at byte 1, but only 2 remain'),
    );
    expect(() => decode(schema, bytes.subarray(0, bytes.length - 1))).toThrow(/truncated: a long/);
    expect(() => decode('double', encode('double', 1).subarray(0, 7))).toThrow(/truncated: a double/);
    expect(() => decode({ type: 'fixed', name: 'F', size: 4 }, new Uint8Array(3))).toThrow(
      /truncated: fixed F/,
    );
    expect(() => decode({ type: 'array', items: 'int' }, new Uint8Array(zigzag(2n)))).toThrow(
      /truncated: an int/,
    );
  });

  it('refuses bytes left over, bad enum and union indexes, bad booleans and negative lengths', () => {
    expect(() => decode('int', new Uint8Array([2, 2]))).toThrow(/1 byte\(s\) left over/);
    const status = { type: 'enum', name: 'S', symbols: ['A'] };
    expect(() => decode(status, new Uint8Array(zigzag(1n)))).toThrow(/index 1 is not one of its 1 symbols/);
    expect(() => decode(['null', 'int'], new Uint8Array(zigzag(2n)))).toThrow(/branch 2 is not one of its 2/);
    expect(() => decode('boolean', new Uint8Array([2]))).toThrow(/not 0 or 1/);
    expect(() => decode('string', new Uint8Array(zigzag(-1n)))).toThrow(/negative length -1/);
    expect(() => decode('int', new Uint8Array(zigzag(2n ** 31n)))).toThrow(/does not fit an int/);
    expect(() => decode('long', new Uint8Array(11).fill(0x80))).toThrow(/longer than 10 bytes/);
    expect(() => decode({ type: 'array', items: 'null' }, new Uint8Array(zigzag(2n ** 40n)))).toThrow(
      /a block of 1099511627776 items in 0 bytes/,
    );
  });

  it('refuses schemas that are not Avro', () => {
    expect(() => parseAvroSchema({ type: 'record', fields: [] })).toThrow(/a record needs a "name"/);
    expect(() => parseAvroSchema('Missing')).toThrow(/unknown type Missing/);
    expect(() => parseAvroSchema({ type: 'enum', name: 'E', symbols: [1] })).toThrow(/symbols/);
    expect(() => parseAvroSchema({ type: 'fixed', name: 'F' })).toThrow(/size/);
    expect(() => parseAvroSchema(42)).toThrow(/expected a type name/);
    const twice = [
      { type: 'fixed', name: 'F', size: 1 },
      { type: 'fixed', name: 'F', size: 2 },
    ];
    expect(() => parseAvroSchema(twice)).toThrow(/F is defined twice/);
  });
});

describe('parseWireFormat and avroJson', () => {
  it('reads the magic byte and the big-endian schema id', () => {
    const bytes = new Uint8Array([0, 0, 0, 1, 2, 6, 0x61, 0x62, 0x63]);
    const wire = parseWireFormat(bytes);
    expect(wire?.schemaId).toBe(258);
    expect(decode('string', wire?.body ?? new Uint8Array())).toBe('abc');
    expect(parseWireFormat(new Uint8Array([1, 0, 0, 0, 1]))).toBeUndefined();
    expect(parseWireFormat(new Uint8Array([0, 0, 0, 1]))).toBeUndefined();
    expect(parseWireFormat(new Uint8Array([0, 0, 0, 0, 0, 2]))).toBeUndefined();
  });

  it('prints pretty JSON as JSON.stringify does, for values without bigints', () => {
    const value = { a: [1, { b: null, c: 'x"y' }], d: {}, e: [], f: true };
    expect(avroJson(value)).toBe(JSON.stringify(value, null, 2));
  });
});
