/** Byte-level building blocks for hand-made wire inputs (compressed streams, frames). */

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

export const u32le = (value: number): number[] => [
  value & 0xff,
  (value >>> 8) & 0xff,
  (value >>> 16) & 0xff,
  value >>> 24,
];

export const u32be = (value: number): number[] => [
  value >>> 24,
  (value >>> 16) & 0xff,
  (value >>> 8) & 0xff,
  value & 0xff,
];

/** The parts, arrays of byte values or byte arrays, one after another. */
export function concat(...parts: readonly (Uint8Array | readonly number[])[]): Uint8Array {
  const arrays = parts.map((part) => Uint8Array.from(part));
  const out = new Uint8Array(arrays.reduce((sum, part) => sum + part.length, 0));
  let pos = 0;
  for (const part of arrays) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}
