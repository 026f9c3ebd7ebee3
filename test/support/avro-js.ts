/**
 * avro-js, the Apache Avro project's JavaScript library, as the console's tests and screenshots use
 * it: an encoder independent of the console's own decoder (console/src/avro.ts) to check it against.
 * It ships no types; this is the part they call.
 */
import { createRequire } from 'node:module';

interface AvroJs {
  /** A schema as JSON text (a bare string would be read as a file name). */
  parse(schema: string): { toBuffer(value: unknown): Buffer };
}

const avroJs = createRequire(import.meta.url)('avro-js') as AvroJs;

/** `value` in Avro binary encoding, by avro-js. */
export function avroJsEncode(schema: unknown, value: unknown): Uint8Array {
  return new Uint8Array(avroJs.parse(JSON.stringify(schema)).toBuffer(value));
}
