/**
 * The plainest JSON produce bodies read straight from their bytes, with no JSON.parse, no string per
 * value and no copy: each key and value is a view of its bytes in the body (valid while the request is
 * handled, like the binary form's views; see HttpRequest.body).
 *
 * The shape read is `{"records":[{…},…]}` whose records hold only `key` (a string), `value` (a string
 * or null), `partition` and `timestamp` (non-negative integers written as plain digits), each at most
 * once, with spaces allowed between tokens. The body must be valid UTF-8 and hold no `\` and no control
 * byte at all: then every string is the bytes between its quotes, and those bytes are exactly the UTF-8
 * of the string JSON.parse would give. Anything else — another field, another type, an escape, a
 * number with a sign, fraction, exponent or leading zero, no records or too many, malformed JSON —
 * returns undefined, and the body goes the general way (JSON.parse and the schema), which reads it
 * and explains its errors; so a body read here is read exactly as that way reads it.
 */
import { Buffer, isUtf8 } from 'node:buffer';
import type { ProduceRecord } from '../../client/wire/binary.ts';
import { MAX_RECORDS_PER_REQUEST } from '../../client/wire/limits.ts';
import type { OffsetRun, RecordOffset } from '../core/log-types.ts';
import { hasControlByte } from './byte-scan.ts';

const QUOTE = 0x22;
const SPACE = 0x20;
const COMMA = 0x2c;
const COLON = 0x3a;
const ZERO = 0x30;
const NINE = 0x39;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

const indexOfByte = Buffer.prototype.indexOf as (this: Uint8Array, byte: number, from?: number) => number;

const ascii = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

const RECORDS = ascii('records');
const NULL = ascii('null');
/** The fields read here, each with the bit that marks it seen in a record. */
const FIELDS = [
  { name: ascii('key'), bit: 1 },
  { name: ascii('value'), bit: 2 },
  { name: ascii('partition'), bit: 4 },
  { name: ascii('timestamp'), bit: 8 },
] as const;

/** Thrown inside the reader for anything outside its shape; never leaves this module. */
const NOT_PLAIN = Symbol('not plain');

class Reader {
  at = 0;

  constructor(private readonly bytes: Uint8Array) {}

  private byte(): number {
    // Past the end reads as a byte no rule accepts.
    return this.at < this.bytes.length ? (this.bytes[this.at] as number) : -1;
  }

  skipSpaces(): void {
    while (this.byte() === SPACE) this.at++;
  }

  /** Consumes `expected` after any spaces, or gives up. */
  expect(expected: number): void {
    this.skipSpaces();
    if (this.byte() !== expected) throw NOT_PLAIN;
    this.at++;
  }

  /** After any spaces: true and consumed when the next byte is `candidate`. */
  take(candidate: number): boolean {
    this.skipSpaces();
    if (this.byte() !== candidate) return false;
    this.at++;
    return true;
  }

  /** A string's bytes (the body holds no escape: they run to the next quote). */
  string(): Uint8Array {
    this.expect(QUOTE);
    const end = indexOfByte.call(this.bytes, QUOTE, this.at);
    if (end === -1) throw NOT_PLAIN;
    const content = this.bytes.subarray(this.at, end);
    this.at = end + 1;
    return content;
  }

  /** A non-negative integer of plain digits, at most Number.MAX_SAFE_INTEGER. */
  integer(): number {
    this.skipSpaces();
    const start = this.at;
    let value = 0;
    while (this.byte() >= ZERO && this.byte() <= NINE) {
      value = value * 10 + (this.byte() - ZERO);
      this.at++;
    }
    const digits = this.at - start;
    // No digits, a leading zero (invalid JSON), or more digits than a safe integer has.
    if (digits === 0 || (digits > 1 && this.bytes[start] === ZERO) || digits > 16) throw NOT_PLAIN;
    if (value > Number.MAX_SAFE_INTEGER) throw NOT_PLAIN;
    // A fraction or an exponent follows: JSON.parse's number, not this one.
    const next = this.byte();
    if (next === 0x2e || next === 0x65 || next === 0x45) throw NOT_PLAIN;
    return value;
  }

  /** `null` or a string. */
  nullableString(): Uint8Array | null {
    this.skipSpaces();
    if (this.byte() === QUOTE) return this.string();
    if (!this.literal(NULL)) throw NOT_PLAIN;
    return null;
  }

  private literal(text: Uint8Array): boolean {
    if (!sameBytes(this.bytes.subarray(this.at, this.at + text.length), text)) return false;
    this.at += text.length;
    return true;
  }

  end(): boolean {
    this.skipSpaces();
    return this.at === this.bytes.length;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function readRecord(reader: Reader): ProduceRecord {
  const record: ProduceRecord = { key: null, value: null, headers: [] };
  reader.expect(OPEN_BRACE);
  if (reader.take(CLOSE_BRACE)) return record;
  let seen = 0;
  do {
    const name = reader.string();
    const field = FIELDS.find((each) => sameBytes(each.name, name));
    // Another field, or one given twice (JSON.parse keeps the last; the general way decides).
    if (field === undefined || (seen & field.bit) !== 0) throw NOT_PLAIN;
    seen |= field.bit;
    reader.expect(COLON);
    if (field.bit === 1) record.key = reader.string();
    else if (field.bit === 2) record.value = reader.nullableString();
    else if (field.bit === 4) record.partition = reader.integer();
    else record.timestamp = reader.integer();
  } while (reader.take(COMMA));
  reader.expect(CLOSE_BRACE);
  return record;
}

/** The records of a plain produce body (see the module comment), else undefined. */
export function readPlainProduceBody(body: Uint8Array): ProduceRecord[] | undefined {
  if (!isUtf8(body) || indexOfByte.call(body, 0x5c) !== -1 || hasControlByte(body)) return undefined;
  const reader = new Reader(body);
  const records: ProduceRecord[] = [];
  try {
    reader.expect(OPEN_BRACE);
    if (!sameBytes(reader.string(), RECORDS)) return undefined;
    reader.expect(COLON);
    reader.expect(OPEN_BRACKET);
    do {
      if (records.length === MAX_RECORDS_PER_REQUEST) return undefined;
      records.push(readRecord(reader));
    } while (reader.take(COMMA));
    reader.expect(CLOSE_BRACKET);
    reader.expect(CLOSE_BRACE);
    return reader.end() ? records : undefined;
  } catch (error) {
    if (error === NOT_PLAIN) return undefined;
    throw error;
  }
}

/** `offsets` as runs (OffsetRun): consecutive offsets of one partition, in order, make one run. */
export function offsetRuns(offsets: readonly RecordOffset[]): OffsetRun[] {
  const runs: OffsetRun[] = [];
  let last: OffsetRun | undefined;
  for (const { partition, offset } of offsets) {
    if (last !== undefined && last.partition === partition && last.baseOffset + last.count === offset)
      last.count++;
    else {
      last = { partition, baseOffset: offset, count: 1 };
      runs.push(last);
    }
  }
  return runs;
}

const ASCII_ZERO = 0x30;
const OFFSETS_OPEN = '{"offsets":[';
const OFFSETS_CLOSE = ']}';
/** The longest decimal a safe integer takes. */
const MAX_DIGITS = String(Number.MAX_SAFE_INTEGER).length;
/** A record's text up to its offset's digits (then `}`), with the comma that follows the one before. */
const recordPrefix = (partition: number): string => `,{"partition":${partition},"offset":`;

/**
 * The produce response's body: the UTF-8 bytes of `JSON.stringify({offsets})` of the runs'
 * `{partition, offset}` pairs (non-negative integers), written into one array with no string or object
 * per record (each run's offsets counted up in their decimal digits; a 1,000-record request's answer
 * built about 200 KB of strings the other way, each one garbage at once). And what it takes in a Lambda
 * result document (its bytes and its quotes once more: ASCII, nothing else escaped), for the router's
 * response check.
 */
export function offsetRunsJson(runs: readonly OffsetRun[]): { body: Uint8Array; documentBytes: number } {
  let records = 0;
  let bound = OFFSETS_OPEN.length + OFFSETS_CLOSE.length;
  for (const { partition, count } of runs) {
    records += count;
    bound += count * (recordPrefix(partition).length + MAX_DIGITS + 1);
  }
  const out = new Uint8Array(bound);
  const text = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  let at = text.write(OFFSETS_OPEN, 0, 'latin1');
  const digits = new Uint8Array(MAX_DIGITS);
  for (const { partition, baseOffset, count } of runs) {
    if (count === 0) continue;
    const prefix = Buffer.from(recordPrefix(partition), 'latin1');
    // The run's first offset, right-aligned in `digits`; each next one is the same digits plus one.
    const start = String(baseOffset);
    let from = MAX_DIGITS - start.length;
    for (let i = 0; i < start.length; i++) digits[from + i] = start.charCodeAt(i);
    for (let r = 0; r < count; r++) {
      const skip = at === OFFSETS_OPEN.length ? 1 : 0; // the answer's first record: no comma
      out.set(skip === 0 ? prefix : prefix.subarray(1), at);
      at += prefix.length - skip;
      for (let i = from; i < MAX_DIGITS; i++) out[at++] = digits[i] as number;
      out[at++] = 0x7d; // }
      from = incrementDecimal(digits, from);
    }
  }
  at += text.write(OFFSETS_CLOSE, at, 'latin1');
  return { body: out.subarray(0, at), documentBytes: at + 2 + 4 * records };
}

/** Adds one to the ASCII decimal in `digits` from `from` to its end; returns where it starts now. */
function incrementDecimal(digits: Uint8Array, from: number): number {
  for (let i = digits.length - 1; i >= from; i--) {
    if (digits[i] !== ASCII_ZERO + 9) {
      digits[i] = (digits[i] as number) + 1;
      return from;
    }
    digits[i] = ASCII_ZERO;
  }
  digits[from - 1] = ASCII_ZERO + 1;
  return from - 1;
}

/** offsetRunsJson of `offsets`, one per record in request order. */
export function offsetsJson(offsets: readonly RecordOffset[]): { body: Uint8Array; documentBytes: number } {
  return offsetRunsJson(offsetRuns(offsets));
}
