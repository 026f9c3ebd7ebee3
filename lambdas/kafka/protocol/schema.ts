/**
 * Message schemas and the one interpreter that reads and writes every message from them.
 *
 * A schema lists a message's fields in wire order, each with the versions it exists in (Kafka's
 * notation: "3+", "0-7"), the versions in which it may be null, and — for tagged fields — its tag.
 * The same field list serves every version: a field outside the version is not on the wire and reads
 * as its default. Flexible versions (from `flexible` on) use the compact forms and end every struct
 * with a tag buffer; tagged fields live only there and are written only when they differ from their
 * default. Unknown tags are skipped, as Kafka does.
 *
 * Decoded values are plain objects whose property names are the fields' names; their TypeScript
 * types are derived from the schema (`RequestOf<typeof Fetch>`), so a handler cannot name a field the
 * message does not have.
 */
import { ProtocolError, type Reader, Writer } from './codec.ts';

export type Primitive =
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint16'
  | 'float64'
  | 'bool'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

interface PrimitiveValues {
  int8: number;
  int16: number;
  int32: number;
  int64: number;
  uint16: number;
  float64: number;
  bool: boolean;
  string: string;
  bytes: Buffer;
  records: Buffer;
  uuid: string;
}

/** A closed range of versions; `max` is Infinity for "n+". */
export interface Versions {
  readonly min: number;
  readonly max: number;
}

export interface FieldOptions {
  readonly nullable?: string;
  readonly tag?: number;
  readonly default?: number | string | boolean | null;
}

interface FieldBase<N extends string, O extends FieldOptions> {
  readonly name: N;
  readonly versions: Versions;
  readonly nullable?: Versions;
  readonly tag?: number;
  readonly defaultValue?: number | string | boolean | null;
  /** Type-level only: the options the field was declared with. */
  readonly options?: O;
}

export interface ScalarField<N extends string, T extends Primitive, O extends FieldOptions>
  extends FieldBase<N, O> {
  readonly kind: 'scalar';
  readonly type: T;
}
export interface ScalarArrayField<N extends string, T extends Primitive, O extends FieldOptions>
  extends FieldBase<N, O> {
  readonly kind: 'scalars';
  readonly type: T;
}
export interface StructArrayField<N extends string, F extends readonly Field[], O extends FieldOptions>
  extends FieldBase<N, O> {
  readonly kind: 'structs';
  readonly fields: F;
}
export interface StructField<N extends string, F extends readonly Field[], O extends FieldOptions>
  extends FieldBase<N, O> {
  readonly kind: 'struct';
  readonly fields: F;
}

export type Field =
  | ScalarField<string, Primitive, FieldOptions>
  | ScalarArrayField<string, Primitive, FieldOptions>
  | StructArrayField<string, readonly Field[], FieldOptions>
  | StructField<string, readonly Field[], FieldOptions>;

type Nullable<O, T> = O extends { nullable: string } ? T | null : T;

/** The decoded value of one field. */
export type ValueOf<F> =
  F extends ScalarField<string, infer T, infer O>
    ? Nullable<O, PrimitiveValues[T]>
    : F extends ScalarArrayField<string, infer T, infer O>
      ? Nullable<O, PrimitiveValues[T][]>
      : F extends StructArrayField<string, infer S, infer O>
        ? Nullable<O, MessageOf<S>[]>
        : F extends StructField<string, infer S, infer O>
          ? Nullable<O, MessageOf<S>>
          : never;

/** The decoded value of a field list. */
export type MessageOf<F extends readonly Field[]> = { [K in F[number] as K['name']]: ValueOf<K> };

export function parseVersions(text: string): Versions {
  const match = /^(\d+)(?:(\+)|-(\d+))?$/.exec(text);
  if (!match) throw new Error(`versions ${JSON.stringify(text)} are not "n", "n+" or "n-m"`);
  const min = Number(match[1]);
  const max = match[2] ? Number.POSITIVE_INFINITY : match[3] !== undefined ? Number(match[3]) : min;
  return { min, max };
}

function within(versions: Versions | undefined, version: number): boolean {
  return versions !== undefined && version >= versions.min && version <= versions.max;
}

function base<N extends string, O extends FieldOptions>(
  name: N,
  versions: string,
  options?: O,
): FieldBase<N, O> {
  return {
    name,
    versions: parseVersions(versions),
    nullable: options?.nullable === undefined ? undefined : parseVersions(options.nullable),
    tag: options?.tag,
    defaultValue: options?.default,
  };
}

export function field<N extends string, T extends Primitive, O extends FieldOptions = Record<never, never>>(
  name: N,
  type: T,
  versions: string,
  options?: O,
): ScalarField<N, T, O> {
  return { ...base(name, versions, options), kind: 'scalar', type };
}

export function arrayOf<N extends string, T extends Primitive, O extends FieldOptions = Record<never, never>>(
  name: N,
  type: T,
  versions: string,
  options?: O,
): ScalarArrayField<N, T, O> {
  return { ...base(name, versions, options), kind: 'scalars', type };
}

export function array<
  N extends string,
  const F extends readonly Field[],
  O extends FieldOptions = Record<never, never>,
>(name: N, versions: string, fields: F, options?: O): StructArrayField<N, F, O> {
  return { ...base(name, versions, options), kind: 'structs', fields };
}

export function struct<
  N extends string,
  const F extends readonly Field[],
  O extends FieldOptions = Record<never, never>,
>(name: N, versions: string, fields: F, options?: O): StructField<N, F, O> {
  return { ...base(name, versions, options), kind: 'struct', fields };
}

export interface Api<
  Req extends readonly Field[] = readonly Field[],
  Res extends readonly Field[] = readonly Field[],
> {
  readonly key: number;
  readonly name: string;
  /** The versions this listener accepts and advertises in ApiVersions. */
  readonly versions: Versions;
  /** The first flexible version; Infinity when the API has none. */
  readonly flexibleFrom: number;
  readonly request: Req;
  readonly response: Res;
}

export function api<const Req extends readonly Field[], const Res extends readonly Field[]>(
  key: number,
  name: string,
  versions: string,
  flexible: string,
  messages: { request: Req; response: Res },
): Api<Req, Res> {
  return {
    key,
    name,
    versions: parseVersions(versions),
    flexibleFrom: flexible === 'none' ? Number.POSITIVE_INFINITY : parseVersions(flexible).min,
    ...messages,
  };
}

export type RequestOf<A> = A extends Api<infer Req, readonly Field[]> ? MessageOf<Req> : never;
export type ResponseOf<A> = A extends Api<readonly Field[], infer Res> ? MessageOf<Res> : never;
/** What a handler may return: any field left out is written as its default. */
export type ResponseInput<A> = A extends Api<readonly Field[], infer Res> ? Input<Res> : never;

type InputOf<F> =
  F extends StructArrayField<string, infer S, infer O>
    ? Nullable<O, Input<S>[]>
    : F extends StructField<string, infer S, infer O>
      ? Nullable<O, Input<S>>
      : ValueOf<F>;
export type Input<F extends readonly Field[]> = { [K in F[number] as K['name']]?: InputOf<K> };

// ---------------------------------------------------------------------------------------------------
// The interpreter

function defaultOf(f: Field, version: number): unknown {
  if (f.defaultValue !== undefined) return f.defaultValue;
  if (within(f.nullable, version) && f.kind !== 'scalar') return null;
  switch (f.kind) {
    case 'scalars':
    case 'structs':
      return [];
    case 'struct':
      return decodeDefaults(f.fields, version);
    default:
      switch (f.type) {
        case 'bool':
          return false;
        case 'string':
          return within(f.nullable, version) ? null : '';
        case 'bytes':
        case 'records':
          return within(f.nullable, version) ? null : Buffer.alloc(0);
        case 'uuid':
          return '0'.repeat(32);
        default:
          return 0;
      }
  }
}

function decodeDefaults(fields: readonly Field[], version: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) out[f.name] = defaultOf(f, version);
  return out;
}

function readPrimitive(
  reader: Reader,
  type: Primitive,
  compact: boolean,
  nullable: boolean,
  name: string,
): unknown {
  switch (type) {
    case 'int8':
      return reader.int8();
    case 'int16':
      return reader.int16();
    case 'int32':
      return reader.int32();
    case 'int64':
      return reader.int64();
    case 'uint16':
      return reader.uint16();
    case 'float64':
      return reader.float64();
    case 'bool':
      return reader.bool();
    case 'uuid':
      return reader.uuid();
    case 'string': {
      const value = reader.string(compact);
      if (value === null && !nullable) throw new ProtocolError(`${name} is null where it may not be`);
      return value;
    }
    default: {
      const value = reader.bytes(compact);
      if (value === null && !nullable) throw new ProtocolError(`${name} is null where it may not be`);
      return value;
    }
  }
}

function readField(reader: Reader, f: Field, version: number, compact: boolean): unknown {
  const nullable = within(f.nullable, version);
  switch (f.kind) {
    case 'scalar':
      return readPrimitive(reader, f.type, compact, nullable, f.name);
    case 'struct':
      return readStruct(reader, f.fields, version, compact);
    default: {
      const count = reader.arrayLength(compact);
      if (count === -1) {
        if (!nullable) throw new ProtocolError(`${f.name} is null where it may not be`);
        return null;
      }
      const items: unknown[] = new Array(count);
      for (let i = 0; i < count; i++) {
        items[i] =
          f.kind === 'scalars'
            ? readPrimitive(reader, f.type, compact, false, f.name)
            : readStruct(reader, f.fields, version, compact);
      }
      return items;
    }
  }
}

/** Reads one struct (or a whole message body) of `version`; `compact` means a flexible version. */
export function readStruct(
  reader: Reader,
  fields: readonly Field[],
  version: number,
  compact: boolean,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    if (f.tag !== undefined || !within(f.versions, version)) out[f.name] = defaultOf(f, version);
    else out[f.name] = readField(reader, f, version, compact);
  }
  if (compact) {
    const count = reader.uvarint();
    for (let i = 0; i < count; i++) {
      const tag = reader.uvarint();
      const size = reader.uvarint();
      const end = reader.pos + size;
      if (end > reader.end) throw new ProtocolError(`tagged field ${tag} runs past the frame`);
      const known = fields.find((f) => f.tag === tag && within(f.versions, version));
      if (known) out[known.name] = readField(reader, known, version, true);
      reader.pos = end;
    }
  }
  return out;
}

function writePrimitive(
  writer: Writer,
  type: Primitive,
  value: unknown,
  compact: boolean,
  name: string,
): void {
  switch (type) {
    case 'int8':
      writer.int8(value as number);
      return;
    case 'int16':
      writer.int16(value as number);
      return;
    case 'int32':
      writer.int32(value as number);
      return;
    case 'int64':
      writer.int64(value as number);
      return;
    case 'uint16':
      writer.uint16(value as number);
      return;
    case 'float64':
      writer.float64(value as number);
      return;
    case 'bool':
      writer.bool(value as boolean);
      return;
    case 'uuid':
      writer.uuid(value as string);
      return;
    case 'string':
      writer.string(value as string | null, compact);
      return;
    default:
      if (value !== null && !(value instanceof Uint8Array)) throw new ProtocolError(`${name} is not bytes`);
      writer.bytes(value as Uint8Array | null, compact);
      return;
  }
}

function writeField(writer: Writer, f: Field, value: unknown, version: number, compact: boolean): void {
  const nullable = within(f.nullable, version);
  if (value === null && !nullable && f.kind !== 'scalar') {
    throw new ProtocolError(`${f.name} is null where version ${version} does not allow it`);
  }
  switch (f.kind) {
    case 'scalar':
      if (value === null && !nullable)
        throw new ProtocolError(`${f.name} is null where version ${version} does not allow it`);
      writePrimitive(writer, f.type, value, compact, f.name);
      return;
    case 'struct':
      writeStruct(writer, f.fields, (value ?? {}) as Record<string, unknown>, version, compact);
      return;
    default: {
      const items = value as unknown[] | null;
      writer.arrayLength(items === null ? null : items.length, compact);
      if (items === null) return;
      for (const item of items) {
        if (f.kind === 'scalars') writePrimitive(writer, f.type, item, compact, f.name);
        else writeStruct(writer, f.fields, item as Record<string, unknown>, version, compact);
      }
    }
  }
}

/** Writes one struct (or a whole message body) of `version`; fields left out take their defaults. */
export function writeStruct(
  writer: Writer,
  fields: readonly Field[],
  value: Record<string, unknown>,
  version: number,
  compact: boolean,
): void {
  const tagged: Field[] = [];
  for (const f of fields) {
    if (!within(f.versions, version)) continue;
    if (f.tag !== undefined) {
      if (compact && value[f.name] !== undefined && value[f.name] !== f.defaultValue) tagged.push(f);
      continue;
    }
    const given = value[f.name];
    writeField(writer, f, given === undefined ? defaultOf(f, version) : given, version, compact);
  }
  if (!compact) return;
  tagged.sort((a, b) => (a.tag as number) - (b.tag as number));
  writer.uvarint(tagged.length);
  for (const f of tagged) {
    const inner = new Writer();
    writeField(inner, f, value[f.name], version, true);
    writer.uvarint(f.tag as number);
    writer.uvarint(inner.length);
    writer.append(inner);
  }
}
