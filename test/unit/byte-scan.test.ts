import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasControlByte, JsonEscapeScan } from '../../lambdas/http/byte-scan.ts';

/** Checks `scan` against `naive` for each byte value alone among 40 letters, at every position and alignment. */
function eachByteAlone(scan: (bytes: Uint8Array) => boolean, naive: (bytes: Uint8Array) => boolean): void {
  for (let code = 0; code < 256; code++) {
    for (let at = 0; at < 4; at++) {
      // 40 bytes: the eight words hasControlByte tests together, and the words and bytes after them.
      for (let position = 0; position < 40; position++) {
        const buffer = new Uint8Array(at + 40).fill(0x61);
        buffer[at + position] = code;
        const bytes = buffer.subarray(at);
        expect(scan(bytes)).toBe(naive(bytes));
      }
    }
  }
}

describe('hasControlByte', () => {
  const naive = (bytes: Uint8Array): boolean => bytes.some((byte) => byte < 0x20);
  // Bytes near the boundary the word trick tests, at every alignment of their buffer.
  const byte = fc.oneof(
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom(0x00, 0x01, 0x1f, 0x20, 0x21, 0x7f, 0x80, 0x9f, 0xa0, 0xff),
    fc.constantFrom(0x61, 0x61, 0x61, 0xc3, 0xa9),
  );

  it('finds a control character wherever it sits, in buffers of any length and alignment', () => {
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 120 }), fc.nat({ max: 7 }), (list, at) => {
        const buffer = new Uint8Array(at + list.length);
        buffer.set(list, at);
        const bytes = buffer.subarray(at);
        expect(hasControlByte(bytes)).toBe(naive(bytes));
      }),
      { numRuns: 5000 },
    );
  });

  it('finds each byte value alone among letters, at every position and alignment', () => {
    eachByteAlone(hasControlByte, naive);
  });
});

describe('JsonEscapeScan', () => {
  const naive = (bytes: Uint8Array): boolean =>
    bytes.some((byte) => byte < 0x20 || byte === 0x22 || byte === 0x5c);
  const byte = fc.oneof(
    fc.integer({ min: 0, max: 255 }),
    fc.constantFrom(0x00, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x5b, 0x5c, 0x5d, 0x7f, 0xa2, 0xdc, 0xff),
    fc.constantFrom(0x61, 0x61, 0x61, 0xc3, 0xa9),
  );

  it('finds a quote, a backslash or a control character wherever it sits, at any alignment', () => {
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 40 }), fc.nat({ max: 7 }), (list, at) => {
        const buffer = new Uint8Array(at + list.length + 3).fill(0x22);
        buffer.set(list, at);
        // A view: the bytes around it (quotes) are not its own.
        const bytes = buffer.subarray(at, at + list.length);
        expect(new JsonEscapeScan().needsEscape(bytes)).toBe(naive(bytes));
      }),
      { numRuns: 5000 },
    );
  });

  it('finds each byte value alone among letters, at every position and alignment', () => {
    // One scan for every buffer, as for the records of a page: it must notice each new buffer.
    const scan = new JsonEscapeScan();
    eachByteAlone((bytes) => scan.needsEscape(bytes), naive);
  });

  it('answers for each view of one buffer on its own bytes, whatever views came before', () => {
    fc.assert(
      fc.property(
        fc.array(byte, { minLength: 1, maxLength: 200 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 40 })), { maxLength: 20 }),
        (list, views) => {
          const buffer = Uint8Array.from(list);
          const scan = new JsonEscapeScan();
          for (const [from, length] of views) {
            const start = from % buffer.length;
            const bytes = buffer.subarray(start, start + length);
            expect(scan.needsEscape(bytes)).toBe(naive(bytes));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
