/**
 * A scan of bytes for control characters (below 0x20), four bytes at a time: most request bodies hold
 * none, and finding none lets lambda-payload.ts bound a body's size in an event without counting.
 */

const NO_WORDS = new Uint32Array(0);

const isControl = (byte: number): boolean => byte < 0x20;

/** Whether any byte is a control character: what JSON writes escaped, 2 or 6 bytes for 1. */
export function hasControlByte(bytes: Uint8Array): boolean {
  const head = Math.min((4 - (bytes.byteOffset & 3)) & 3, bytes.byteLength);
  for (let i = 0; i < head; i++) if (isControl(bytes[i] as number)) return true;
  // Whole words exist only past an aligned head: then `head` is the way to alignment.
  const count = (bytes.byteLength - head) >>> 2;
  const words = count === 0 ? NO_WORDS : new Uint32Array(bytes.buffer, bytes.byteOffset + head, count);
  for (let i = 0; i < words.length; i++) {
    const word = words[i] as number;
    // A classic bit trick: (w - 0x20 in each byte) & ~w sets some byte's top bit exactly when some byte
    // of w is below 0x20.
    if (((word - 0x20202020) & ~word & 0x80808080) !== 0) return true;
  }
  for (let i = head + 4 * words.length; i < bytes.byteLength; i++) {
    if (isControl(bytes[i] as number)) return true;
  }
  return false;
}
