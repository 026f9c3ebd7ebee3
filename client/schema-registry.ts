/**
 * Avro with the schema registry: a registry client (Streambed's `/schema-registry`, or any
 * Confluent-compatible registry) and `avroSerde`, which reads and writes Confluent's wire format:
 *
 *   byte 0      magic byte 0
 *   bytes 1-4   schema id, 32-bit big-endian
 *   bytes 5-    the value in Avro binary encoding
 *
 * so records are interchangeable with Confluent's serializers in other languages.
 *
 * ```ts
 * const registry = new SchemaRegistryClient({ url: 'http://127.0.0.1:8080' });
 * const producer = streambed.producer({
 *   valueSerde: avroSerde({ registry, subject: 'orders-value', schema: orderSchema }),
 * });
 * const consumer = streambed.consumer({ groupId: 'billing', valueSerde: avroSerde({ registry }) });
 * ```
 *
 * Caching: schemas by id (ids are immutable, so forever), ids by (subject, schema) once registered
 * or looked up; failed look-ups are not cached. Registry errors become StreambedErrors with the
 * Confluent `errorCode` in `details` and one of the codes below.
 */
import avro, { type Resolver, type Type } from 'avsc';
import { StreambedError } from './errors.ts';
import type { AsyncSerde } from './serdes.ts';
import { segment, Transport, type TransportOptions } from './transport.ts';

/** A schema as JSON text, or as the parsed JSON object. */
export type AvroSchemaInput = string | object;

export interface SchemaRegistryClientOptions extends TransportOptions {
  /**
   * The Streambed API's URL (the registry is at `<url>/schema-registry`), or the registry's own URL
   * ending in `/schema-registry`: both name the same registry, with or without a trailing slash.
   */
  url: string;
  /** The registry's own base URL, when it is not `<url>/schema-registry` (another registry). */
  registryUrl?: string;
}

export interface RegisteredSchema {
  id: number;
  version: number;
  schema: string;
}

/** Confluent error codes → SDK codes; anything else is judged by its HTTP status. */
const CODES: Readonly<Record<number, string>> = {
  40401: 'SUBJECT_NOT_FOUND',
  40402: 'VERSION_NOT_FOUND',
  40403: 'SCHEMA_NOT_FOUND',
  409: 'INCOMPATIBLE_SCHEMA',
  42201: 'INVALID_SCHEMA',
};

function codeFor(errorCode: number, status: number): string {
  const known = CODES[errorCode];
  if (known !== undefined) return known;
  if (status === 429) return 'THROTTLED';
  if (status === 401 || status === 403) return 'UNAUTHORIZED';
  if (status >= 500) return 'UNAVAILABLE';
  return 'INVALID_REQUEST';
}

/**
 * The HTTP → SDK translation of Confluent's error bodies (`{"error_code","message"}`): rewritten into
 * the Streambed error body the Transport reads, keeping `errorCode`. Other responses pass unchanged.
 */
function confluentErrors(inner: typeof fetch): typeof fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    if (response.status < 400) return response;
    const text = await response.text();
    let body: { error_code?: unknown; message?: unknown } = {};
    try {
      body = JSON.parse(text);
    } catch {
      // Not a registry error body (a gateway answered): the Transport judges it by its status.
    }
    const status = response.status;
    const errorCode = typeof body.error_code === 'number' ? body.error_code : undefined;
    if (status === 404 && (errorCode === undefined || errorCode === 404)) {
      // Not a missing subject, version or schema (4040x) but a path the registry does not serve: say
      // which, since a wrong registry URL is the usual cause.
      const error = {
        code: 'INVALID_REQUEST',
        message: `HTTP 404: no schema registry route for ${init?.method ?? 'GET'} ${shownUrl(input)}; the registry URL should be the Streambed API's URL or its /schema-registry`,
        retriable: false,
        ...(errorCode === undefined ? {} : { errorCode }),
      };
      return new Response(JSON.stringify({ error }), {
        status,
        headers: { 'content-type': 'application/json' },
      });
    }
    if (errorCode === undefined) {
      return new Response(text, { status, headers: { 'content-type': 'text/plain' } });
    }
    const error = {
      code: codeFor(errorCode, status),
      message: typeof body.message === 'string' ? body.message : `HTTP ${status}`,
      retriable: status === 429 || status >= 500,
      errorCode,
    };
    return new Response(JSON.stringify({ error }), {
      status,
      headers: { 'content-type': 'application/json' },
    });
  };
}

/** A request's URL for a message, without any credentials it carries. */
function shownUrl(input: string | URL | Request): string {
  const url = new URL(input instanceof Request ? input.url : input);
  url.username = '';
  url.password = '';
  return url.href;
}

/** The registry's base URL from the API's URL, or from a URL already naming `/schema-registry`. */
function registryBase(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return trimmed.endsWith('/schema-registry') ? trimmed : `${trimmed}/schema-registry`;
}

function schemaText(schema: AvroSchemaInput): string {
  if (typeof schema !== 'string') return JSON.stringify(schema);
  try {
    // Parsed and printed again, so equal schemas spelt differently share a cache entry.
    return JSON.stringify(JSON.parse(schema));
  } catch (error) {
    throw new StreambedError('INVALID_SCHEMA', `schema is not JSON: ${(error as Error).message}`);
  }
}

function parseType(text: string): Type {
  try {
    return avro.Type.forSchema(JSON.parse(text), { noAnonymousTypes: true });
  } catch (error) {
    throw new StreambedError('INVALID_SCHEMA', `invalid Avro schema: ${(error as Error).message}`);
  }
}

/**
 * Where `value` is not a value of `type`: one entry per wrong field, by its path (record fields,
 * array indices and map keys, dot-separated), e.g. `order.total: expected double, got undefined`.
 */
function mismatches(type: Type, value: unknown): string[] {
  const found: string[] = [];
  type.isValid(value, {
    errorHook: (path, got, expected) => {
      const where = path.length === 0 ? 'value' : path.join('.');
      found.push(`${where}: expected ${describeType(expected)}, got ${describeValue(got)}`);
    },
  });
  return found;
}

function describeType(type: Type): string {
  if (type instanceof avro.types.UnwrappedUnionType || type instanceof avro.types.WrappedUnionType) {
    return type.types.map(describeType).join(' | ');
  }
  const kind = type.typeName.replace(/^logical:/, '');
  return type.name === undefined ? kind : `${kind} ${type.name}`;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value}n`;
  if (Buffer.isBuffer(value)) return `${value.byteLength} byte(s)`;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    // a cycle: fall back to the value's own description
  }
  text ??= String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export const MAGIC_BYTE = 0;
const HEADER_BYTES = 5;

/** Confluent framing: magic byte, schema id, Avro payload. */
export function encodeFrame(id: number, payload: Uint8Array): Buffer {
  const frame = Buffer.alloc(HEADER_BYTES + payload.byteLength);
  frame.writeUInt8(MAGIC_BYTE, 0);
  frame.writeUInt32BE(id, 1);
  frame.set(payload, HEADER_BYTES);
  return frame;
}

export function decodeFrame(bytes: Uint8Array): { id: number; payload: Buffer } {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.byteLength < HEADER_BYTES || buffer[0] !== MAGIC_BYTE) {
    throw new StreambedError(
      'CORRUPT_DATA',
      `not a Confluent Avro value: expected magic byte 0 and a 4-byte schema id, got ${buffer.byteLength} byte(s) starting with ${buffer[0] ?? 'nothing'}`,
    );
  }
  return { id: buffer.readUInt32BE(1), payload: buffer.subarray(HEADER_BYTES) };
}

export class SchemaRegistryClient {
  private readonly transport: Transport;
  private readonly byId = new Map<number, Promise<{ schema: string; type: Type }>>();
  private readonly idBySchema = new Map<string, Promise<number>>();

  constructor(options: SchemaRegistryClientOptions) {
    const base = options.registryUrl ?? registryBase(options.url);
    this.transport = new Transport({ ...options, url: base, fetch: confluentErrors(options.fetch ?? fetch) });
  }

  /** Registers the schema under `subject` (or finds it there) → its global id. Cached. */
  register(subject: string, schema: AvroSchemaInput): Promise<number> {
    const text = schemaText(schema);
    return this.cachedId(`register\u0000${subject}\u0000${text}`, async () => {
      const { id } = await this.transport.json<{ id: number }>(
        'POST',
        `subjects/${segment(subject)}/versions`,
        { json: { schema: text } },
      );
      return id;
    });
  }

  /** The id of a schema already registered under `subject`; SCHEMA_NOT_FOUND otherwise. Cached. */
  lookup(subject: string, schema: AvroSchemaInput): Promise<number> {
    const text = schemaText(schema);
    return this.cachedId(`lookup\u0000${subject}\u0000${text}`, async () => {
      const found = await this.transport.json<RegisteredSchema>('POST', `subjects/${segment(subject)}`, {
        json: { schema: text },
      });
      return found.id;
    });
  }

  /** The subject's latest (or given) version. Not cached: it changes when a schema is registered. */
  async version(subject: string, version: number | 'latest' = 'latest'): Promise<RegisteredSchema> {
    return this.transport.json<RegisteredSchema>(
      'GET',
      `subjects/${segment(subject)}/versions/${segment(version)}`,
    );
  }

  /** The schema text of a global id. Cached forever: ids never change meaning. */
  async getSchema(id: number): Promise<string> {
    return (await this.byIdEntry(id)).schema;
  }

  /** The schema of a global id as an avsc Type. Cached forever. */
  async getType(id: number): Promise<Type> {
    return (await this.byIdEntry(id)).type;
  }

  /** Whether `schema` may follow `version` of `subject` under the subject's compatibility level. */
  async testCompatibility(
    subject: string,
    schema: AvroSchemaInput,
    version: number | 'latest' = 'latest',
  ): Promise<boolean> {
    const result = await this.transport.json<{ is_compatible: boolean }>(
      'POST',
      `compatibility/subjects/${segment(subject)}/versions/${segment(version)}`,
      { json: { schema: schemaText(schema) } },
    );
    return result.is_compatible;
  }

  /** The compatibility level of a subject (falling back to the global one), or the global one. */
  async getCompatibility(subject?: string): Promise<string> {
    const path = subject === undefined ? 'config' : `config/${segment(subject)}`;
    const result = await this.transport.json<{ compatibilityLevel: string }>('GET', path, {
      query: subject === undefined ? {} : { defaultToGlobal: 'true' },
    });
    return result.compatibilityLevel;
  }

  async setCompatibility(level: string, subject?: string): Promise<string> {
    const path = subject === undefined ? 'config' : `config/${segment(subject)}`;
    const result = await this.transport.json<{ compatibility: string }>('PUT', path, {
      json: { compatibility: level },
    });
    return result.compatibility;
  }

  /** Frames `value` written with `type` as schema `id`. */
  encode(id: number, type: Type, value: unknown): Buffer {
    let payload: Buffer;
    try {
      payload = type.toBuffer(value);
    } catch (error) {
      // avsc's own message names the type but not where it is ("invalid "double": undefined"): ask
      // it again with a hook that is told the path of every wrong field.
      const found = mismatches(type, value);
      const why =
        found.length === 0
          ? (error as Error).message
          : [...found.slice(0, 5), ...(found.length > 5 ? [`and ${found.length - 5} more`] : [])].join('; ');
      throw new StreambedError('INVALID_REQUEST', `value does not match Avro schema id ${id}: ${why}`, {
        cause: error,
      });
    }
    return encodeFrame(id, payload);
  }

  /** Decodes a framed value with its writer's schema (fetched by id), or resolved into `reader`. */
  async decode(
    bytes: Uint8Array,
    reader?: { type: Type; resolver: (writer: Type, id: number) => Resolver },
  ): Promise<{ id: number; type: Type; value: unknown }> {
    const { id, payload } = decodeFrame(bytes);
    const writer = await this.getType(id);
    try {
      if (reader === undefined) return { id, type: writer, value: writer.fromBuffer(payload) };
      return { id, type: reader.type, value: reader.type.fromBuffer(payload, reader.resolver(writer, id)) };
    } catch (error) {
      if (error instanceof StreambedError) throw error;
      throw new StreambedError(
        'CORRUPT_DATA',
        `cannot decode an Avro value of schema id ${id}: ${(error as Error).message}`,
      );
    }
  }

  private byIdEntry(id: number): Promise<{ schema: string; type: Type }> {
    let entry = this.byId.get(id);
    if (entry === undefined) {
      entry = this.transport
        .json<{ schema: string }>('GET', `schemas/ids/${segment(id)}`)
        .then(({ schema }) => ({ schema, type: parseType(schema) }));
      this.remember(this.byId, id, entry);
    }
    return entry;
  }

  private cachedId(key: string, load: () => Promise<number>): Promise<number> {
    let entry = this.idBySchema.get(key);
    if (entry === undefined) {
      entry = load();
      this.remember(this.idBySchema, key, entry);
    }
    return entry;
  }

  /** Caches a pending result; a failure is forgotten so the next call asks again. */
  private remember<K, T>(cache: Map<K, Promise<T>>, key: K, entry: Promise<T>): void {
    cache.set(key, entry);
    entry.catch(() => {
      if (cache.get(key) === entry) cache.delete(key);
    });
  }
}

export interface AvroSerdeOptions {
  registry: SchemaRegistryClient;
  /**
   * The subject values are written under, e.g. `orders-value` (Confluent's default naming:
   * `<topic>-value`). Needed to serialize; deserializing finds schemas by the id in each value.
   */
  subject?: string;
  /** The writer schema. Without it, values are written with the subject's latest version. */
  schema?: AvroSchemaInput;
  /** Register `schema` on first use (default), or only look it up (it must be registered already). */
  autoRegister?: boolean;
  /** Decode into this schema (Avro schema resolution) instead of each value's writer schema. */
  readerSchema?: AvroSchemaInput;
}

/**
 * An Avro serde on Confluent's wire format. `serialize` registers (or looks up) its schema once and
 * then only encodes; `deserialize` fetches each writer schema once per id.
 */
export function avroSerde<T = unknown>(options: AvroSerdeOptions): AsyncSerde<T> {
  const { registry } = options;
  let writer: Promise<{ id: number; type: Type }> | undefined;
  const reader = options.readerSchema === undefined ? undefined : parseType(schemaText(options.readerSchema));
  const resolvers = new Map<number, Resolver>();

  function writerSchema(): Promise<{ id: number; type: Type }> {
    if (writer !== undefined) return writer;
    const subject = options.subject;
    if (subject === undefined) {
      return Promise.reject(
        new StreambedError(
          'INVALID_REQUEST',
          'avroSerde needs a subject to serialize (e.g. "<topic>-value")',
        ),
      );
    }
    const schema = options.schema;
    const pending =
      schema === undefined
        ? registry
            .version(subject)
            .then(async (latest) => ({ id: latest.id, type: await registry.getType(latest.id) }))
        : (options.autoRegister === false
            ? registry.lookup(subject, schema)
            : registry.register(subject, schema)
          ).then((id) => ({ id, type: parseType(schemaText(schema)) }));
    writer = pending;
    pending.catch(() => {
      if (writer === pending) writer = undefined;
    });
    return pending;
  }

  return {
    async serialize(value) {
      if (value === null || value === undefined) return null;
      const { id, type } = await writerSchema();
      return registry.encode(id, type, value);
    },
    async deserialize(bytes) {
      if (bytes === null) return null;
      const decoded = await registry.decode(
        bytes,
        reader === undefined
          ? undefined
          : {
              type: reader,
              resolver: (writerType, id) => {
                let resolver = resolvers.get(id);
                if (resolver === undefined) {
                  try {
                    resolver = reader.createResolver(writerType);
                  } catch (error) {
                    throw new StreambedError(
                      'INCOMPATIBLE_SCHEMA',
                      `the reader schema cannot read values written with schema id ${id}: ${(error as Error).message}`,
                    );
                  }
                  resolvers.set(id, resolver);
                }
                return resolver;
              },
            },
      );
      return decoded.value as T;
    },
  };
}
