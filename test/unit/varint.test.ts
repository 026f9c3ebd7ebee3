import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  readVarint,
  readVarlong,
  sizeOfVarint,
  sizeOfVarlong,
  writeVarint,
  writeVarlong,
} from '../../client/wire/varint.ts';
import { thrownBy } from '../support/wire-error.ts';

/** Kafka's zig-zag varint, written independently with bigint: (n << 1) ^ (n >> 63), 7 bits per byte. */
function referenceEncode(value: bigint): Uint8Array {
  let z = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const out: number[] = [];
  while (z >= 0x80n) {
    out.push(Number(z & 0x7fn) | 0x80);
    z >>= 7n;
  }
  out.push(Number(z));
  return Uint8Array.from(out);
}

function encodeVarint(value: number): Uint8Array {
  const buf = new Uint8Array(sizeOfVarint(value));
  const end = writeVarint(buf, 0, value);
  return buf.subarray(0, end);
}

function encodeVarlong(value: number): Uint8Array {
  const buf = new Uint8Array(sizeOfVarlong(value));
  const end = writeVarlong(buf, 0, value);
  return buf.subarray(0, end);
}

const int32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const safeInteger = fc.oneof(fc.maxSafeInteger(), int32, fc.integer({ min: -300, max: 300 }));

describe('varint (zig-zag int32)', () => {
  it.each([
    [0, [0x00]],
    [-1, [0x01]],
    [1, [0x02]],
    [-64, [0x7f]],
    [64, [0x80, 0x01]],
    [300, [0xd8, 0x04]],
    [2147483647, [0xfe, 0xff, 0xff, 0xff, 0x0f]],
    [-2147483648, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ])('encodes %i as %j', (value, expected) => {
    // Prepare: the fixture

    // Act
    const bytes = encodeVarint(value);

    // Assess
    expect([...bytes]).toEqual(expected);
  });

  it('round-trips every int32, matches Kafka encoding, and reports its exact size', () => {
    fc.assert(
      fc.property(int32, fc.nat({ max: 4 }), (value, at) => {
        // Prepare
        const buf = new Uint8Array(at + 5);

        // Act
        const end = writeVarint(buf, at, value);
        const cursor = { pos: at };
        const decoded = readVarint(buf, cursor);

        // Assess
        expect(decoded).toBe(value);
        expect(cursor.pos).toBe(end);
        expect(end - at).toBe(sizeOfVarint(value));
        expect(buf.subarray(at, end)).toEqual(referenceEncode(BigInt(value)));
      }),
    );
  });

  it('throws CORRUPT_DATA for every truncation of an encoding', () => {
    fc.assert(
      fc.property(int32, (value) => {
        // Prepare
        const bytes = encodeVarint(value);

        for (let cut = 0; cut < bytes.length; cut++) {
          // Act
          const error = thrownBy(() => readVarint(bytes.subarray(0, cut), { pos: 0 }));

          // Assess
          expect(error.code).toBe('CORRUPT_DATA');
        }
      }),
    );
  });

  it('does not read at or past `end` even when the buffer goes on', () => {
    // Prepare: 300 takes two bytes, but the caller's record ends after the first
    const bytes = encodeVarint(300);

    // Act
    const error = thrownBy(() => readVarint(bytes, { pos: 0 }, 1));

    // Assess
    expect(error.code).toBe('CORRUPT_DATA');
  });

  it.each([
    ['six bytes', [0x80, 0x80, 0x80, 0x80, 0x80, 0x00]],
    ['a fifth byte wider than 32 bits', [0xff, 0xff, 0xff, 0xff, 0x1f]],
  ])('throws CORRUPT_DATA for an overlong varint: %s', (_name, raw) => {
    // Prepare
    const bytes = Uint8Array.from(raw);

    // Act
    const error = thrownBy(() => readVarint(bytes, { pos: 0 }));

    // Assess
    expect(error.code).toBe('CORRUPT_DATA');
  });

  it('accepts a non-minimal encoding within 5 bytes, as Kafka does', () => {
    // Prepare: zero padded to two bytes
    const bytes = Uint8Array.from([0x80, 0x00]);
    const cursor = { pos: 0 };

    // Act
    const value = readVarint(bytes, cursor);

    // Assess
    expect(value).toBe(0);
    expect(cursor.pos).toBe(2);
  });

  it.each([2 ** 31, -(2 ** 31) - 1, 1.5, Number.NaN])('refuses to write %d (not an int32)', (value) => {
    // Prepare
    const buf = new Uint8Array(10);

    // Act
    const error = thrownBy(() => writeVarint(buf, 0, value));

    // Assess
    expect(error.code).toBe('INVALID_REQUEST');
  });
});

describe('varlong (zig-zag int64 held in a safe integer)', () => {
  // Expected bytes cross-checked with an independent Python encoder of Kafka's zig-zag varlong.
  it.each([
    [0, [0x00]],
    [-1, [0x01]],
    [2 ** 30, [0x80, 0x80, 0x80, 0x80, 0x08]],
    [-(2 ** 30) - 1, [0x81, 0x80, 0x80, 0x80, 0x08]],
    [1_700_000_000_000, [0x80, 0xa0, 0xab, 0xfe, 0xf9, 0x62]],
    [Number.MAX_SAFE_INTEGER, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]],
    [Number.MIN_SAFE_INTEGER, [0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f]],
  ])('encodes %i as %j', (value, expected) => {
    // Prepare: the fixture

    // Act
    const bytes = encodeVarlong(value);

    // Assess
    expect([...bytes]).toEqual(expected);
  });

  it('round-trips every safe integer, matches Kafka encoding, and reports its exact size', () => {
    fc.assert(
      fc.property(safeInteger, (value) => {
        // Prepare
        const buf = new Uint8Array(10);

        // Act
        const end = writeVarlong(buf, 0, value);
        const cursor = { pos: 0 };
        const decoded = readVarlong(buf, cursor);

        // Assess
        expect(decoded).toBe(value);
        expect(cursor.pos).toBe(end);
        expect(end).toBe(sizeOfVarlong(value));
        expect(buf.subarray(0, end)).toEqual(referenceEncode(BigInt(value)));
      }),
    );
  });

  it('reads a varint-encoded int32 as the same varlong (the two encodings coincide)', () => {
    fc.assert(
      fc.property(int32, (value) => {
        // Prepare
        const bytes = encodeVarint(value);

        // Act
        const decoded = readVarlong(bytes, { pos: 0 });

        // Assess
        expect(decoded).toBe(value);
      }),
    );
  });

  it('throws CORRUPT_DATA for every truncation of an encoding', () => {
    fc.assert(
      fc.property(safeInteger, (value) => {
        // Prepare
        const bytes = encodeVarlong(value);

        for (let cut = 0; cut < bytes.length; cut++) {
          // Act
          const error = thrownBy(() => readVarlong(bytes.subarray(0, cut), { pos: 0 }));

          // Assess
          expect(error.code).toBe('CORRUPT_DATA');
        }
      }),
    );
  });

  it.each([
    ['eleven bytes', [...new Array(10).fill(0x80), 0x00]],
    ['a tenth byte wider than 64 bits', [...new Array(9).fill(0xff), 0x03]],
    ['a value of 2^53 (not a safe integer)', [...referenceEncode(2n ** 53n)]],
    ['a value below -(2^53 - 1)', [...referenceEncode(-(2n ** 53n))]],
    ['the largest int64', [...referenceEncode(2n ** 63n - 1n)]],
  ])('throws CORRUPT_DATA for %s', (_name, raw) => {
    // Prepare
    const bytes = Uint8Array.from(raw);

    // Act
    const error = thrownBy(() => readVarlong(bytes, { pos: 0 }));

    // Assess
    expect(error.code).toBe('CORRUPT_DATA');
  });

  it.each([2 ** 53, -(2 ** 53), 0.5, Number.POSITIVE_INFINITY])(
    'refuses to write %d (not a safe integer)',
    (value) => {
      // Prepare
      const buf = new Uint8Array(10);

      // Act
      const error = thrownBy(() => writeVarlong(buf, 0, value));

      // Assess
      expect(error.code).toBe('INVALID_REQUEST');
    },
  );
});
