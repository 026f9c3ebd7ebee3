import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Crc32cFunction,
  crc32c,
  crc32cImplementation,
  createCrc32c,
  jsCrc32c,
  NATIVE_MIN_BYTES,
} from '../../client/wire/crc32c.ts';

/** Bit-at-a-time CRC-32C: slow, obviously correct, and independent of the table-driven code under test. */
function referenceCrc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('crc32c', () => {
  it('gives the CRC-32C check value for "123456789"', () => {
    // Prepare
    const input = ascii('123456789');

    // Act
    const crc = crc32c(input);

    // Assess
    expect(crc).toBe(0xe3069283);
  });

  it('is 0 for no bytes', () => {
    // Prepare
    const input = new Uint8Array(0);

    // Act
    const crc = crc32c(input);

    // Assess
    expect(crc).toBe(0);
  });

  // RFC 3720 (iSCSI) appendix B.4 vectors, confirmed with java.util.zip.CRC32C.
  it.each([
    ['32 zero bytes', new Uint8Array(32), 0x8a9136aa],
    ['32 bytes of 0xff', new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ['bytes 0..31 ascending', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    ['bytes 31..0 descending', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
  ])('matches the RFC 3720 vector for %s', (_name, input, expected) => {
    // Prepare: the vector

    // Act
    const crc = crc32c(input);

    // Assess
    expect(crc).toBe(expected);
  });

  it('matches a bit-at-a-time reference for any bytes at any alignment', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 7 }), (data, shift) => {
        // Prepare: a view that starts `shift` bytes into its buffer, so the slicing loop sees odd offsets
        const backing = new Uint8Array(data.length + shift);
        backing.set(data, shift);
        const view = backing.subarray(shift);

        // Act
        const crc = crc32c(view);

        // Assess
        expect(crc).toBe(referenceCrc32c(data));
      }),
    );
  });

  it('continues from a previous CRC: crc(b, crc(a)) equals crc(a followed by b)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 100 }), (a, b) => {
        // Prepare
        const joined = new Uint8Array(a.length + b.length);
        joined.set(a);
        joined.set(b, a.length);

        // Act
        const inPieces = crc32c(b, crc32c(a));

        // Assess
        expect(inPieces).toBe(crc32c(joined));
      }),
    );
  });

  it('returns an unsigned 32-bit integer', () => {
    // Prepare: an input whose CRC has the top bit set
    const input = ascii('a');

    // Act
    const crc = crc32c(input);

    // Assess: CRC-32C("a") is 0xc1d04330 (java.util.zip.CRC32C agrees); a signed result would be negative
    expect(crc).toBe(0xc1d04330);
    expect(crc).toBeGreaterThan(0x7fffffff);
  });
});

/** `@node-rs/crc32`'s function, as the root package installs it (a dependency: it loads here). */
const nodeRsCrc32c = (createRequire(import.meta.url)('@node-rs/crc32') as { crc32c: Crc32cFunction }).crc32c;

/** `length` bytes from a seeded xorshift: large inputs without fast-check generating each byte. */
function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}

/** Lengths from empty to past 64 KiB, weighted to the small ones and to the native threshold. */
const lengths = fc.oneof(
  fc.integer({ min: 0, max: 64 }),
  fc.integer({ min: NATIVE_MIN_BYTES - 9, max: NATIVE_MIN_BYTES + 9 }),
  fc.integer({ min: 0, max: 4096 }),
  fc.integer({ min: 0, max: 70_000 }),
);

describe('crc32c implementations', () => {
  it('uses the native implementation here, where @node-rs/crc32 is installed', () => {
    // Act
    const implementation = crc32cImplementation();

    // Assess
    expect(implementation).toBe('native');
  });

  it.each([
    ['JavaScript', jsCrc32c],
    ['native', createCrc32c(() => nodeRsCrc32c, 0).crc32c],
    ['chosen by size', crc32c],
  ])('%s gives the check value 0xE3069283 for "123456789"', (_name, implementation) => {
    // Act
    const crc = implementation(ascii('123456789'));

    // Assess
    expect(crc).toBe(0xe3069283);
  });

  it('native and JavaScript agree on any bytes, whole and split at any point', () => {
    const native = createCrc32c(() => nodeRsCrc32c, 0);
    fc.assert(
      fc.property(lengths, fc.integer(), fc.double({ min: 0, max: 1, noNaN: true }), (length, seed, at) => {
        // Prepare
        const bytes = pseudoRandomBytes(length, seed);
        const split = Math.floor(at * length);
        const head = bytes.subarray(0, split);
        const tail = bytes.subarray(split);

        // Act
        const whole = native.crc32c(bytes);
        const nativePieces = native.crc32c(tail, native.crc32c(head));
        const mixedPieces = jsCrc32c(tail, native.crc32c(head));

        // Assess
        expect(native.implementation()).toBe('native');
        expect(whole).toBe(jsCrc32c(bytes));
        expect(nativePieces).toBe(whole);
        expect(mixedPieces).toBe(whole);
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same CRC on either side of the size threshold, whichever piece takes which path', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: NATIVE_MIN_BYTES - 3, max: NATIVE_MIN_BYTES + 3 }),
        fc.integer({ min: 0, max: 2 * NATIVE_MIN_BYTES + 8 }),
        fc.integer(),
        (headLength, tailLength, seed) => {
          // Prepare: the head's length is just below, at or just above the threshold
          const bytes = pseudoRandomBytes(headLength + tailLength, seed);

          // Act
          const inPieces = crc32c(bytes.subarray(headLength), crc32c(bytes.subarray(0, headLength)));

          // Assess
          expect(inPieces).toBe(referenceCrc32c(bytes));
          expect(crc32c(bytes)).toBe(referenceCrc32c(bytes));
        },
      ),
    );
  });

  it('continues from any 32-bit initial value as the JavaScript one does', () => {
    const native = createCrc32c(() => nodeRsCrc32c, 0);
    fc.assert(
      fc.property(lengths, fc.integer(), fc.integer({ min: 0, max: 0xffffffff }), (length, seed, initial) => {
        // Prepare
        const bytes = pseudoRandomBytes(length, seed);

        // Act
        const crc = native.crc32c(bytes, initial);

        // Assess
        expect(crc).toBe(jsCrc32c(bytes, initial));
      }),
    );
  });

  it('falls back to JavaScript when the native module fails to load, and tries only once', () => {
    // Prepare
    let attempts = 0;
    const fallback = createCrc32c(() => {
      attempts++;
      throw new Error("Cannot find module '@node-rs/crc32'");
    }, 0);
    const bytes = pseudoRandomBytes(10_000, 7);

    // Act
    const first = fallback.crc32c(bytes);
    const second = fallback.crc32c(ascii('123456789'));
    const implementation = fallback.implementation();

    // Assess
    expect(first).toBe(referenceCrc32c(bytes));
    expect(second).toBe(0xe3069283);
    expect(implementation).toBe('js');
    expect(attempts).toBe(1);
  });

  it.each([
    ['a function with wrong answers', () => 0],
    ['a function that ignores the initial value', (bytes: Uint8Array) => nodeRsCrc32c(bytes)],
    ['no function at all', undefined as unknown as Crc32cFunction],
  ])('falls back to JavaScript when the native module gives %s', (_name, loaded) => {
    // Prepare
    const fallback = createCrc32c(() => loaded, 0);
    const bytes = pseudoRandomBytes(1000, 11);

    // Act
    const crc = fallback.crc32c(bytes, 0x12345678);

    // Assess
    expect(fallback.implementation()).toBe('js');
    expect(crc).toBe(jsCrc32c(bytes, 0x12345678));
  });

  it('loads the native module only when an input reaches the threshold', () => {
    // Prepare
    let attempts = 0;
    const lazy = createCrc32c(() => {
      attempts++;
      return nodeRsCrc32c;
    }, 64);

    // Act
    lazy.crc32c(new Uint8Array(63));
    const beforeThreshold = attempts;
    lazy.crc32c(new Uint8Array(64));
    lazy.crc32c(new Uint8Array(65));

    // Assess
    expect(beforeThreshold).toBe(0);
    expect(attempts).toBe(1);
    expect(lazy.implementation()).toBe('native');
  });
});
