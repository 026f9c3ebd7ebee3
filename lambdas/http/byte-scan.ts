/**
 * Scans of bytes for what JSON must escape (control characters four bytes at a time, `"` and `\` with
 * a native search): most request bodies and record values hold none of it, and finding none lets
 * lambda-payload.ts bound a body's size in an event without counting, and records-json.ts copy a
 * value's bytes into a fetch page as they are.
 */

import { Buffer } from 'node:buffer';

const NO_WORDS = new Uint32Array(0);

const isControl = (byte: number): boolean => byte < 0x20;

/** The whole 32-bit words of `bytes` past its unaligned head of `head` bytes. */
function wordsAfter(bytes: Uint8Array, head: number): Uint32Array {
  const count = (bytes.byteLength - head) >>> 2;
  // Whole words exist only past an aligned head: then `head` is the way to alignment.
  return count === 0 ? NO_WORDS : new Uint32Array(bytes.buffer, bytes.byteOffset + head, count);
}

/** Bytes before the first 4-byte aligned one (at most the whole array). */
const headLength = (bytes: Uint8Array): number =>
  Math.min((4 - (bytes.byteOffset & 3)) & 3, bytes.byteLength);

/** Whether any byte is a control character: what JSON writes escaped, 2 or 6 bytes for 1. */
export function hasControlByte(bytes: Uint8Array): boolean {
  const head = headLength(bytes);
  for (let i = 0; i < head; i++) if (isControl(bytes[i] as number)) return true;
  const words = wordsAfter(bytes, head);
  // A classic bit trick: (w - 0x20 in each byte) & ~w sets some byte's top bit exactly when some byte
  // of w is below 0x20. Eight words are tested at once (their flags or-ed), then any left one by one.
  const wholeEights = words.length & ~7;
  let i = 0;
  for (; i < wholeEights; i += 8) {
    const a = words[i] as number;
    const b = words[i + 1] as number;
    const c = words[i + 2] as number;
    const d = words[i + 3] as number;
    const e = words[i + 4] as number;
    const f = words[i + 5] as number;
    const g = words[i + 6] as number;
    const h = words[i + 7] as number;
    const flags =
      ((a - 0x20202020) & ~a) |
      ((b - 0x20202020) & ~b) |
      ((c - 0x20202020) & ~c) |
      ((d - 0x20202020) & ~d) |
      ((e - 0x20202020) & ~e) |
      ((f - 0x20202020) & ~f) |
      ((g - 0x20202020) & ~g) |
      ((h - 0x20202020) & ~h);
    if ((flags & 0x80808080) !== 0) return true;
  }
  for (; i < words.length; i++) {
    const word = words[i] as number;
    if (((word - 0x20202020) & ~word & 0x80808080) !== 0) return true;
  }
  for (let i = head + 4 * words.length; i < bytes.byteLength; i++) {
    if (isControl(bytes[i] as number)) return true;
  }
  return false;
}

/** Buffer's indexOf (a native memchr) works on any Uint8Array; TypedArray's own is a slower loop. */
const indexOfByte = Buffer.prototype.indexOf as (this: Uint8Array, byte: number) => number;

const NO_INT_WORDS = new Int32Array(0);

/**
 * Whether byte arrays hold a byte JSON.stringify escapes in a string: `"`, `\` or a control character.
 * Made for many small views into one buffer (the values of a decoded record batch): the buffer's words
 * are viewed once, not once per array.
 */
export class JsonEscapeScan {
  private buffer: ArrayBufferLike | undefined;
  private words: Int32Array<ArrayBufferLike> = NO_INT_WORDS;

  needsEscape(bytes: Uint8Array): boolean {
    if (indexOfByte.call(bytes, 0x22) !== -1 || indexOfByte.call(bytes, 0x5c) !== -1) return true;
    if (bytes.buffer !== this.buffer) {
      this.buffer = bytes.buffer;
      this.words = new Int32Array(bytes.buffer, 0, bytes.buffer.byteLength >>> 2);
    }
    const start = bytes.byteOffset;
    const end = start + bytes.byteLength;
    // Bytes before the first whole word, the whole words, then the bytes after the last one.
    const firstWord = (start + 3) >>> 2;
    const endWord = end >>> 2;
    const headEnd = Math.min(4 * firstWord, end);
    for (let i = start; i < headEnd; i++) if (isControl(bytes[i - start] as number)) return true;
    const words = this.words;
    for (let i = firstWord; i < endWord; i++) {
      const word = words[i] as number;
      // As in hasControlByte.
      if (((word - 0x20202020) & ~word & 0x80808080) !== 0) return true;
    }
    for (let i = Math.max(4 * endWord, headEnd); i < end; i++) {
      if (isControl(bytes[i - start] as number)) return true;
    }
    return false;
  }
}
