import { StreambedError } from './errors.ts';

/**
 * Serializers and deserializers for keys and values. Bytes travel as Uint8Array; a serde turns them
 * into what the application works with. Avro (with the schema registry, schema-registry.ts) plugs in
 * the same way as an AsyncSerde.
 */
export interface Serde<T> {
  serialize(value: T): Uint8Array | null;
  deserialize(bytes: Uint8Array | null): T | null;
}

/**
 * A serde whose work may need I/O, such as looking a schema up in the registry. The producer and the
 * consumer await whatever it returns; every Serde is also an AsyncSerde.
 */
export interface AsyncSerde<T> {
  serialize(value: T): Uint8Array | null | Promise<Uint8Array | null>;
  deserialize(bytes: Uint8Array | null): T | null | Promise<T | null>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 strings; a string key hashes exactly like a Kafka StringSerializer key. */
export const stringSerde: Serde<string> = {
  serialize: (value) => (value === null || value === undefined ? null : encoder.encode(value)),
  deserialize: (bytes) => (bytes === null ? null : decoder.decode(bytes)),
};

/**
 * Any JSON value, as its UTF-8 JSON text. Bytes that are not JSON are refused without quoting them
 * (JSON.parse's own message does), so the error can be logged.
 */
export const jsonSerde: Serde<unknown> = {
  serialize: (value) =>
    value === null || value === undefined ? null : encoder.encode(JSON.stringify(value)),
  deserialize: (bytes) => {
    if (bytes === null) return null;
    try {
      return JSON.parse(decoder.decode(bytes));
    } catch {
      throw new StreambedError('INVALID_REQUEST', `value is not JSON (${bytes.byteLength} bytes)`);
    }
  },
};

/** Raw bytes, unchanged. */
export const bytesSerde: Serde<Uint8Array> = {
  serialize: (value) => value ?? null,
  deserialize: (bytes) => bytes,
};

/**
 * What the producer does by default: strings as UTF-8, bytes as they are, null as null, and any
 * other value as JSON — the same rules as the JSON API.
 */
export const autoSerde: Serde<unknown> = {
  serialize: (value) => {
    if (value === null || value === undefined) return null;
    if (typeof value === 'string') return encoder.encode(value);
    if (value instanceof Uint8Array) return value;
    return encoder.encode(JSON.stringify(value));
  },
  deserialize: (bytes) => bytes,
};
