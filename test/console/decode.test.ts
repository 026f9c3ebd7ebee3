/** How the console's message browser shows stored bytes (console/src/decode.ts). */
import { describe, expect, it } from 'vitest';
import { decodeBytes, decodeField, toHex } from '../../console/src/decode.ts';

const utf8 = (text: string) => new TextEncoder().encode(text);

describe('decodeBytes', () => {
  it('pretty-prints a JSON object or array', () => {
    expect(decodeBytes(utf8('{"a":1,"b":[true]}'))).toEqual({
      kind: 'json',
      text: '{\n  "a": 1,\n  "b": [\n    true\n  ]\n}',
    });
    expect(decodeBytes(utf8(' [1,2] '))).toEqual({ kind: 'json', text: '[\n  1,\n  2\n]' });
  });

  it('keeps other UTF-8 as text: bare JSON scalars, broken JSON, non-ASCII', () => {
    expect(decodeBytes(utf8('42'))).toEqual({ kind: 'text', text: '42' });
    expect(decodeBytes(utf8('{not json'))).toEqual({ kind: 'text', text: '{not json' });
    expect(decodeBytes(utf8('crème brûlée\n\ttab'))).toEqual({ kind: 'text', text: 'crème brûlée\n\ttab' });
    expect(decodeBytes(utf8(''))).toEqual({ kind: 'text', text: '' });
  });

  it('shows bytes that are not UTF-8, or carry control characters, as hex', () => {
    expect(decodeBytes(new Uint8Array([0xff, 0xfe, 0x41]))).toEqual({
      kind: 'hex',
      text: 'ff fe 41',
      bytes: 3,
    });
    expect(decodeBytes(new Uint8Array([0x00, 0x01, 0x02]))).toEqual({
      kind: 'hex',
      text: '00 01 02',
      bytes: 3,
    });
    // The Confluent wire format: magic 0, a schema id, then Avro: binary, not text.
    expect(decodeBytes(new Uint8Array([0, 0, 0, 0, 1, 6, 0x61, 0x62, 0x63])).kind).toBe('hex');
  });

  it('breaks hex into lines of 16 bytes', () => {
    expect(toHex(new Uint8Array(17).fill(0xab))).toBe(`${'ab '.repeat(15)}ab\nab`);
  });

  it('reads null, and base64 fields as the API sends them', () => {
    expect(decodeBytes(null)).toEqual({ kind: 'null' });
    expect(decodeField(null)).toEqual({ kind: 'null' });
    expect(decodeField(undefined)).toEqual({ kind: 'null' });
    expect(decodeField('aGVsbG8=')).toEqual({ kind: 'text', text: 'hello' });
    expect(decodeField('AAEC/w==')).toEqual({ kind: 'hex', text: '00 01 02 ff', bytes: 4 });
  });
});
