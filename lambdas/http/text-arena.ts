/**
 * The UTF-8 bytes of a request's strings (a JSON produce body's keys, values and header values), written
 * one after another into one array instead of one new array per string.
 *
 * Sized by the body they were parsed from: a string of a JSON text takes at most as many UTF-8 bytes as
 * its source in the text (`é` is 2 bytes either way, `\u00e9` 6 in the text and 2 encoded, `\n` 2 and
 * 1), and the strings of one parse come from separate parts of it, so the body's length holds them all.
 * A string that does not fit all the same (an array smaller than that) gets an array of its own.
 */
import { Buffer } from 'node:buffer';

const utf8Encoder = new TextEncoder();

export class TextArena {
  private readonly bytes: Buffer;
  private at = 0;

  constructor(array: Uint8Array) {
    this.bytes = Buffer.from(array.buffer, array.byteOffset, array.byteLength);
  }

  /** `text` as UTF-8, as TextEncoder writes it (a lone surrogate as U+FFFD). */
  readonly encode = (text: string): Uint8Array => {
    const room = this.bytes.byteLength - this.at;
    // A UTF-16 code unit takes at most 3 bytes; measure only when that bound does not settle it.
    if (3 * text.length > room && Buffer.byteLength(text) > room) return utf8Encoder.encode(text);
    const written = this.bytes.write(text, this.at, 'utf8');
    // A plain Uint8Array, as TextEncoder returns: downstream code never meets Buffer semantics.
    const encoded = new Uint8Array(this.bytes.buffer, this.bytes.byteOffset + this.at, written);
    this.at += written;
    return encoded;
  };
}
