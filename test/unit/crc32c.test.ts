import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c } from '../../client/wire/crc32c.ts';

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
