/**
 * How the message browser shows bytes: JSON pretty-printed, other valid UTF-8 as text, anything else
 * as hex. The console fetches with `encoding=base64`, so it sees the exact stored bytes and decides
 * here, the same way for keys, values and headers.
 */

export type Decoded =
  | { kind: 'null' }
  | { kind: 'json'; text: string }
  | { kind: 'text'; text: string }
  | { kind: 'hex'; text: string; bytes: number };

export function base64ToBytes(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Hex in groups of two, 16 bytes a line, the way `xxd -p` readers expect. */
export function toHex(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let start = 0; start < bytes.length; start += 16) {
    const line: string[] = [];
    for (const byte of bytes.subarray(start, start + 16)) line.push(byte.toString(16).padStart(2, '0'));
    lines.push(line.join(' '));
  }
  return lines.join('\n');
}

/** Text that is an object or array in JSON (not a bare number or string, which read better as is). */
function prettyJson(text: string): string | undefined {
  const trimmed = text.trim();
  if (!(trimmed.startsWith('{') || trimmed.startsWith('['))) return undefined;
  try {
    return JSON.stringify(JSON.parse(trimmed), null, 2);
  } catch {
    return undefined;
  }
}

export function decodeBytes(bytes: Uint8Array | null): Decoded {
  if (bytes === null) return { kind: 'null' };
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return { kind: 'hex', text: toHex(bytes), bytes: bytes.length };
  }
  // Control characters other than whitespace say "binary" even when the bytes happen to be UTF-8.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: that is the point of the check
  if (/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text))
    return { kind: 'hex', text: toHex(bytes), bytes: bytes.length };
  const json = prettyJson(text);
  return json === undefined ? { kind: 'text', text } : { kind: 'json', text: json };
}

/** A field of a record fetched with `encoding=base64`: null, or its bytes. */
export function decodeField(base64: string | null | undefined): Decoded {
  if (base64 === null || base64 === undefined) return { kind: 'null' };
  return decodeBytes(base64ToBytes(base64));
}
