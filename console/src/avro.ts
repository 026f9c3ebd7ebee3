/**
 * Avro binary decoding in the browser, driven by the writer's schema, for the message browser's
 * Confluent wire-format values (docs/decisions.md, "Web console": written here rather than bundling a
 * Node library, which would bring Buffer and weigh more than the rest of the console).
 *
 * Wire format (Confluent): byte 0 the magic byte 0; bytes 1-4 the schema id, a big-endian unsigned
 * int; then the value in Avro binary encoding:
 *   null            nothing
 *   boolean         one byte, 0 or 1
 *   int, long       zig-zag varint (7 bits a byte, low first); an int fits 32 bits, a long 64
 *   float, double   IEEE 754, little-endian, 4 or 8 bytes
 *   bytes, string   a long length, then that many bytes (a string's are UTF-8)
 *   fixed           exactly `size` bytes
 *   enum            an int: the index of the symbol
 *   record          its fields in schema order, nothing between them
 *   array, map      blocks: a long count, then that many items (a map's each a string key then the
 *                   value); a negative count −n means n items preceded by the block's size in bytes;
 *                   a count of 0 ends the blocks
 *   union           a long: the index of the branch, then the value in that branch's type
 *
 * Decoded values are plain JSON values, with three exceptions that `avroJson` prints: a long beyond
 * ±2^53 is a `bigint` (printed as its exact digits), a non-finite float or double a string, and bytes
 * and fixed a string of code points 0-255 (Avro's own JSON encoding of bytes). A union's value is shown
 * unwrapped; logical types (date, decimal, timestamp-millis, …) show their underlying value.
 */

export type AvroValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | AvroValue[]
  | { [key: string]: AvroValue };

/** A schema that cannot be read, or bytes that do not match it. */
export class AvroError extends Error {}

const PRIMITIVES = ['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string'] as const;
type Primitive = (typeof PRIMITIVES)[number];

/** A schema, read once, with every named type reference resolved through `named`. */
export type AvroType =
  | { type: Primitive }
  | { type: 'record'; name: string; fields: { name: string; type: AvroType }[] }
  | { type: 'enum'; name: string; symbols: string[] }
  | { type: 'fixed'; name: string; size: number }
  | { type: 'array'; items: AvroType }
  | { type: 'map'; values: AvroType }
  | { type: 'union'; branches: AvroType[] }
  | { type: 'ref'; name: string; named: Map<string, AvroType> };

const isPrimitive = (name: string): name is Primitive => (PRIMITIVES as readonly string[]).includes(name);

/** Reads a schema (parsed JSON) into an `AvroType`; a schema that is not Avro is an `AvroError`. */
export function parseAvroSchema(schema: unknown): AvroType {
  const named = new Map<string, AvroType>();
  const type = readType(schema, '', named, '');
  // Every reference must name a type defined somewhere in the schema.
  checkRefs(type, named, new Set());
  return type;
}

function fullName(name: string, namespace: string): string {
  return name.includes('.') || namespace === '' ? name : `${namespace}.${name}`;
}

/** The namespace a named type's own name sets for the types inside it. */
function namespaceOf(full: string): string {
  const dot = full.lastIndexOf('.');
  return dot < 0 ? '' : full.slice(0, dot);
}

function readType(schema: unknown, namespace: string, named: Map<string, AvroType>, at: string): AvroType {
  const where = at === '' ? 'the schema' : at;
  if (typeof schema === 'string') {
    if (isPrimitive(schema)) return { type: schema };
    // A reference: in the enclosing namespace first, then as written.
    const qualified = fullName(schema, namespace);
    return { type: 'ref', name: named.has(qualified) || schema.includes('.') ? qualified : schema, named };
  }
  if (Array.isArray(schema)) {
    return {
      type: 'union',
      branches: schema.map((branch, i) => readType(branch, namespace, named, `${where}, union branch ${i}`)),
    };
  }
  if (schema === null || typeof schema !== 'object') {
    throw new AvroError(`${where}: expected a type name, an object or a union array, got ${String(schema)}`);
  }
  const object = schema as Record<string, unknown>;
  const kind = object.type;
  if (typeof kind !== 'string' && !Array.isArray(kind) && (kind === null || typeof kind !== 'object')) {
    throw new AvroError(`${where}: an object type needs a "type"`);
  }
  if (kind === 'record' || kind === 'error' || kind === 'enum' || kind === 'fixed') {
    if (typeof object.name !== 'string' || object.name === '') {
      throw new AvroError(`${where}: a ${kind} needs a "name"`);
    }
    const ns = typeof object.namespace === 'string' ? object.namespace : namespace;
    const name = fullName(object.name, ns);
    if (named.has(name)) throw new AvroError(`${where}: the type ${name} is defined twice`);
    if (kind === 'enum') {
      const symbols = object.symbols;
      if (!Array.isArray(symbols) || !symbols.every((s) => typeof s === 'string')) {
        throw new AvroError(`enum ${name}: "symbols" must be an array of strings`);
      }
      const type: AvroType = { type: 'enum', name, symbols: symbols as string[] };
      named.set(name, type);
      return type;
    }
    if (kind === 'fixed') {
      const size = object.size;
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
        throw new AvroError(`fixed ${name}: "size" must be a whole number of bytes`);
      }
      const type: AvroType = { type: 'fixed', name, size };
      named.set(name, type);
      return type;
    }
    if (!Array.isArray(object.fields)) throw new AvroError(`record ${name}: "fields" must be an array`);
    // Defined before its fields are read, so that a field may refer to the record itself.
    const fields: { name: string; type: AvroType }[] = [];
    const type: AvroType = { type: 'record', name, fields };
    named.set(name, type);
    for (const [i, field] of (object.fields as unknown[]).entries()) {
      const f = field as Record<string, unknown> | null;
      if (f === null || typeof f !== 'object' || typeof f.name !== 'string') {
        throw new AvroError(`record ${name}: field ${i} needs a "name"`);
      }
      fields.push({ name: f.name, type: readType(f.type, namespaceOf(name), named, `${name}.${f.name}`) });
    }
    return type;
  }
  if (kind === 'array')
    return { type: 'array', items: readType(object.items, namespace, named, `${where} items`) };
  if (kind === 'map')
    return { type: 'map', values: readType(object.values, namespace, named, `${where} values`) };
  // {"type": "long", "logicalType": …} and the like: the type it wraps.
  return readType(kind, namespace, named, at);
}

function checkRefs(type: AvroType, named: Map<string, AvroType>, seen: Set<AvroType>): void {
  if (seen.has(type)) return;
  seen.add(type);
  switch (type.type) {
    case 'ref':
      if (!named.has(type.name))
        throw new AvroError(`unknown type ${type.name}: no type of that name is defined`);
      return;
    case 'record':
      for (const field of type.fields) checkRefs(field.type, named, seen);
      return;
    case 'array':
      checkRefs(type.items, named, seen);
      return;
    case 'map':
      checkRefs(type.values, named, seen);
      return;
    case 'union':
      for (const branch of type.branches) checkRefs(branch, named, seen);
      return;
    default:
      return;
  }
}

const utf8 = new TextDecoder('utf-8');
const TWO_POW_53 = 2n ** 53n;

/** A cursor over the bytes of one value. */
class Reader {
  pos = 0;
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  take(n: number, what: string): Uint8Array {
    if (n > this.bytes.length - this.pos) {
      throw new AvroError(
        `truncated: ${what} needs ${n} byte(s) at byte ${this.pos}, but only ${this.bytes.length - this.pos} remain`,
      );
    }
    const slice = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return slice;
  }

  /** A zig-zag varint of up to 64 bits: a number when it is within ±2^53, else a bigint. */
  long(what: string): number | bigint {
    let raw = 0n;
    for (let shift = 0n; ; shift += 7n) {
      if (shift > 63n) throw new AvroError(`${what} at byte ${this.pos}: a varint longer than 10 bytes`);
      const byte = this.take(1, what)[0] as number;
      raw |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
    }
    const value = (raw >> 1n) ^ -(raw & 1n);
    return value >= -TWO_POW_53 && value <= TWO_POW_53 ? Number(value) : value;
  }

  int(what: string): number {
    const start = this.pos;
    const value = this.long(what);
    if (typeof value !== 'number' || value < -(2 ** 31) || value > 2 ** 31 - 1) {
      throw new AvroError(`${what} at byte ${start}: ${value} does not fit an int`);
    }
    return value;
  }

  /** A count or length: a long that must be a safe number. */
  size(what: string): number {
    const start = this.pos;
    const value = this.long(what);
    if (typeof value !== 'number') throw new AvroError(`${what} at byte ${start}: ${value} is too large`);
    return value;
  }

  float(bytes: 4 | 8, what: string): number {
    const at = this.pos;
    this.take(bytes, what);
    return bytes === 4 ? this.view.getFloat32(at, true) : this.view.getFloat64(at, true);
  }
}

/** Decodes `bytes` as one value of `type`; every byte must be used. */
export function decodeAvro(type: AvroType, bytes: Uint8Array): AvroValue {
  const reader = new Reader(bytes);
  const value = read(type, reader);
  if (reader.pos !== bytes.length) {
    throw new AvroError(
      `${bytes.length - reader.pos} byte(s) left over after the value (at byte ${reader.pos}): the bytes do not match the schema`,
    );
  }
  return value;
}

function read(type: AvroType, r: Reader): AvroValue {
  switch (type.type) {
    case 'null':
      return null;
    case 'boolean': {
      const byte = r.take(1, 'a boolean')[0] as number;
      if (byte > 1) throw new AvroError(`a boolean at byte ${r.pos - 1} is ${byte}, not 0 or 1`);
      return byte === 1;
    }
    case 'int':
      return r.int('an int');
    case 'long':
      return r.long('a long');
    case 'float':
      return finite(r.float(4, 'a float'));
    case 'double':
      return finite(r.float(8, 'a double'));
    case 'bytes':
      return latin1(r.take(length(r, 'bytes'), 'bytes'));
    case 'string':
      return utf8.decode(r.take(length(r, 'a string'), 'a string'));
    case 'fixed':
      return latin1(r.take(type.size, `fixed ${type.name}`));
    case 'enum': {
      const at = r.pos;
      const index = r.int(`enum ${type.name}`);
      const symbol = type.symbols[index];
      if (symbol === undefined) {
        throw new AvroError(
          `enum ${type.name} at byte ${at}: index ${index} is not one of its ${type.symbols.length} symbols`,
        );
      }
      return symbol;
    }
    case 'record': {
      const value: Record<string, AvroValue> = {};
      for (const field of type.fields) value[field.name] = read(field.type, r);
      return value;
    }
    case 'array': {
      const items: AvroValue[] = [];
      blocks(r, 'an array', () => items.push(read(type.items, r)));
      return items;
    }
    case 'map': {
      const entries: Record<string, AvroValue> = {};
      blocks(r, 'a map', () => {
        const key = utf8.decode(r.take(length(r, 'a map key'), 'a map key'));
        entries[key] = read(type.values, r);
      });
      return entries;
    }
    case 'union': {
      const at = r.pos;
      const index = r.size('a union index');
      const branch = type.branches[index];
      if (branch === undefined) {
        throw new AvroError(
          `a union at byte ${at}: branch ${index} is not one of its ${type.branches.length}`,
        );
      }
      return read(branch, r);
    }
    case 'ref':
      return read(type.named.get(type.name) as AvroType, r);
  }
}

function length(r: Reader, what: string): number {
  const at = r.pos;
  const n = r.size(`the length of ${what}`);
  if (n < 0) throw new AvroError(`${what} at byte ${at}: negative length ${n}`);
  return n;
}

/** The blocks of an array or map: `item` reads one item each time it is called. */
function blocks(r: Reader, what: string, item: () => void): void {
  for (;;) {
    const at = r.pos;
    let count = r.size(`the block count of ${what}`);
    if (count === 0) return;
    if (count < 0) {
      count = -count;
      // The block's size in bytes, for readers that skip it; this one reads every item.
      if (r.size(`the block size of ${what}`) < 0)
        throw new AvroError(`${what} at byte ${at}: negative block size`);
    }
    // Every item but a null or an empty record takes a byte: a larger count is corrupt, not a loop to run.
    if (count > r.bytes.length - r.pos && count > 1_000_000) {
      throw new AvroError(
        `${what} at byte ${at}: a block of ${count} items in ${r.bytes.length - r.pos} bytes`,
      );
    }
    for (let i = 0; i < count; i += 1) item();
  }
}

const finite = (n: number): number | string => (Number.isFinite(n) ? n : String(n));

function latin1(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return text;
}

/** A decoded value as pretty JSON (two spaces), longs beyond ±2^53 as their exact digits. */
export function avroJson(value: AvroValue, indent = ''): string {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((item) => inner + avroJson(item, inner)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) return '{}';
  const lines = entries.map(([key, item]) => `${inner}${JSON.stringify(key)}: ${avroJson(item, inner)}`);
  return `{\n${lines.join(',\n')}\n${indent}}`;
}

/** A value in the Confluent wire format: its schema id and its Avro body; undefined if it is not one. */
export function parseWireFormat(bytes: Uint8Array): { schemaId: number; body: Uint8Array } | undefined {
  if (bytes.length < 5 || bytes[0] !== 0) return undefined;
  const schemaId = new DataView(bytes.buffer, bytes.byteOffset + 1, 4).getUint32(0, false);
  if (schemaId === 0) return undefined;
  return { schemaId, body: bytes.subarray(5) };
}
