/**
 * `consume --format`: kcat's output tokens. `%s` value, `%k` key, `%t` topic, `%p` partition, `%o`
 * offset, `%T` timestamp (epoch ms), `%h` headers as `name=value,name2=value2`; `\n`, `\t`, `\r` and
 * `\\` are escapes. Nothing is added after a record: a format ends with `\n` to print one per line.
 */
import { StreambedError } from '../errors.ts';

export interface PrintedRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: Uint8Array | null;
  /** The value as text (decoded from Avro with --avro); '' for a null value. */
  value: string;
  headers: [name: string, value: Uint8Array | null][];
}

const text = (bytes: Uint8Array | null): string =>
  bytes === null ? '' : Buffer.from(bytes).toString('utf8');

const TOKENS: Record<string, (record: PrintedRecord) => string> = {
  s: (r) => r.value,
  k: (r) => text(r.key),
  t: (r) => r.topic,
  p: (r) => String(r.partition),
  o: (r) => String(r.offset),
  T: (r) => String(r.timestamp),
  h: (r) => r.headers.map(([name, value]) => `${name}=${text(value)}`).join(','),
};

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\' };

/** The printer of a format; a token or escape it does not know is refused, naming it. */
export function compileFormat(format: string): (record: PrintedRecord) => string {
  const parts: (string | ((record: PrintedRecord) => string))[] = [];
  for (let i = 0; i < format.length; i++) {
    const char = format[i] as string;
    const next = format[i + 1];
    if (char === '%' || char === '\\') {
      const table = char === '%' ? TOKENS : ESCAPES;
      const part = next === undefined ? undefined : table[next];
      if (part === undefined) {
        const known = char === '%' ? '%s %k %t %p %o %T %h' : '\\n \\t \\r \\\\';
        throw new StreambedError(
          'INVALID_REQUEST',
          `--format: ${JSON.stringify(char + (next ?? ''))} is not one of ${known}`,
        );
      }
      parts.push(part);
      i++;
    } else {
      parts.push(char);
    }
  }
  return (record) => parts.map((part) => (typeof part === 'string' ? part : part(record))).join('');
}
