/**
 * The schema registry (DESIGN §3, §8): Avro schemas under subjects, with global ids, versions,
 * compatibility levels and soft/permanent deletes — the semantics of Confluent Schema Registry, so
 * its clients work unmodified. Stored in the metadata store; the key layout is in layout.ts.
 *
 * Model:
 * - A schema is identified by its fingerprint: SHA-256 of its canonical form (the schema's JSON
 *   without whitespace, object keys sorted, everything else kept). Defaults, aliases, docs, logical
 *   types and custom properties are kept on purpose: Avro's Parsing Canonical Form (avsc's
 *   `type.fingerprint()`) drops defaults and aliases, yet those decide whether a reader can resolve
 *   old data, so two schemas differing only in a default must be two schemas here.
 * - One fingerprint has one global id, whatever the subject: `schemaFingerprint#{fp}` maps it to the
 *   id, `schema#{id}` holds the text. Ids come from a counter item advanced by compare-and-set. Both
 *   items are immutable and never deleted, so data written with an id stays decodable forever.
 * - A subject is `subject#{s}/meta` (latestVersion, deletedThrough, compatibility) plus one item per
 *   version. Every change to a subject is a transaction conditioned on its meta item's version, so
 *   changes of one subject are serialized without locks.
 * - Soft deletes: a version is deleted when its own flag is set or its number is ≤ `deletedThrough`
 *   (deleting a whole subject is one write, however many versions it has). Permanent deletes remove
 *   only what was soft-deleted first, as Confluent demands.
 * - Version numbers grow from `latestVersion` and are never reused while the subject's meta item
 *   exists (a permanent delete of the whole subject removes it, and versions start again at 1).
 *
 * Errors carry Confluent's `error_code` in `details.errorCode` (40401 subject, 40402 version, 40403
 * schema, 409 incompatible, 42201 invalid schema, 42202 invalid version, …); the route table renders
 * them in Confluent's dialect. Their HTTP status is `registryErrorStatus(errorCode)`.
 */
import { createHash } from 'node:crypto';
import avro, { type Type } from 'avsc';
import type { Clock } from '../ports/clock.ts';
import {
  attributesOf,
  type Item,
  type ItemInput,
  MAX_BATCH_GET_KEYS,
  type MetaStore,
  queryAll,
  type TransactOp,
} from '../ports/meta-store.ts';
import { retryOnConflict } from './cas.ts';
import { StreamError } from './errors.ts';
import {
  FIRST_SUBJECT_VERSION_SK,
  LAST_SUBJECT_VERSION_SK,
  registryConfigKey,
  SCHEMA_REF_SK_PREFIX,
  SUBJECTS_PK,
  schemaFingerprintKey,
  schemaIdCounterKey,
  schemaKey,
  schemaPk,
  schemaRefKey,
  subjectKey,
  subjectListKey,
  subjectPk,
  subjectVersionKey,
} from './layout.ts';

// ---------------------------------------------------------------------------------------------------
// Vocabulary and limits.

export const COMPATIBILITY_LEVELS = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];
/** Confluent's default. */
export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD';

/** A schema's text is stored in one item (400 KB at most): keep well below. */
export const MAX_SCHEMA_BYTES = 256 * 1024;
/** Subjects appear in sort keys (1024 bytes at most) with a short prefix and suffix. */
export const MAX_SUBJECT_BYTES = 1000;
/** Nesting depth of a schema's JSON: deeper is refused before anything recurses over it. */
export const MAX_SCHEMA_DEPTH = 200;
/** Confluent versions and ids are int32. */
export const MAX_VERSION = 2 ** 31 - 1;

/** Confluent's error codes (the `error_code` of its error bodies). */
export const RegistryErrorCode = {
  SUBJECT_NOT_FOUND: 40401,
  VERSION_NOT_FOUND: 40402,
  SCHEMA_NOT_FOUND: 40403,
  SUBJECT_SOFT_DELETED: 40404,
  SUBJECT_NOT_SOFT_DELETED: 40405,
  VERSION_SOFT_DELETED: 40406,
  VERSION_NOT_SOFT_DELETED: 40407,
  SUBJECT_COMPATIBILITY_NOT_CONFIGURED: 40408,
  INCOMPATIBLE_SCHEMA: 409,
  INVALID_SCHEMA: 42201,
  INVALID_VERSION: 42202,
  INVALID_COMPATIBILITY_LEVEL: 42203,
  INVALID_SUBJECT: 42208,
  SCHEMA_TOO_LARGE: 42209,
} as const;

/** The HTTP status of a Confluent error code: its first three digits (40401 → 404, 409 → 409). */
export function registryErrorStatus(errorCode: number): number {
  return errorCode >= 10_000 ? Math.floor(errorCode / 100) : errorCode;
}

/** A registry error: INVALID_REQUEST (the caller must change the request) with Confluent's code. */
export function registryError(errorCode: number, message: string): StreamError {
  return new StreamError('INVALID_REQUEST', message, { details: { errorCode } });
}

/** The Confluent error code of an error raised here, if it is one. */
export function registryErrorCode(error: unknown): number | undefined {
  if (!(error instanceof StreamError)) return undefined;
  const code = error.details?.errorCode;
  return typeof code === 'number' ? code : undefined;
}

const subjectNotFound = (subject: string) =>
  registryError(RegistryErrorCode.SUBJECT_NOT_FOUND, `Subject '${subject}' not found.`);
const versionNotFound = (subject: string, version: number | 'latest') =>
  registryError(RegistryErrorCode.VERSION_NOT_FOUND, `Version ${version} of subject '${subject}' not found.`);
const schemaNotFound = (detail: string) =>
  registryError(RegistryErrorCode.SCHEMA_NOT_FOUND, `Schema ${detail} not found`);
const invalidSchema = (message: string) => registryError(RegistryErrorCode.INVALID_SCHEMA, message);

// ---------------------------------------------------------------------------------------------------
// Validation at the boundary of the service.

const CONTROL = /\p{Cc}/u;

export function validateSubject(subject: unknown): string {
  if (
    typeof subject !== 'string' ||
    subject.length === 0 ||
    Buffer.byteLength(subject, 'utf8') > MAX_SUBJECT_BYTES ||
    CONTROL.test(subject)
  ) {
    throw registryError(
      RegistryErrorCode.INVALID_SUBJECT,
      `subject ${JSON.stringify(String(subject).slice(0, 60))} is invalid: use 1-${MAX_SUBJECT_BYTES} bytes of UTF-8 without control characters`,
    );
  }
  return subject;
}

/** `latest` (or -1, as Confluent allows) or a version number from 1 to 2^31−1; else 42202. */
export function parseVersion(raw: string): number | 'latest' {
  const trimmed = raw.trim();
  if (trimmed.toLowerCase() === 'latest' || trimmed === '-1') return 'latest';
  if (/^\d{1,10}$/.test(trimmed)) {
    const version = Number(trimmed);
    if (version >= 1 && version <= MAX_VERSION) return version;
  }
  throw registryError(
    RegistryErrorCode.INVALID_VERSION,
    `The specified version '${raw.slice(0, 40)}' is not a valid version id. Allowed values are between [1, ${MAX_VERSION}] and the string "latest"`,
  );
}

export function parseCompatibilityLevel(raw: unknown): CompatibilityLevel {
  const level = typeof raw === 'string' ? raw.trim().toUpperCase() : undefined;
  const found = COMPATIBILITY_LEVELS.find((known) => known === level);
  if (found === undefined) {
    throw registryError(
      RegistryErrorCode.INVALID_COMPATIBILITY_LEVEL,
      `Invalid compatibility level ${JSON.stringify(raw)}. Valid values are ${COMPATIBILITY_LEVELS.join(', ')}`,
    );
  }
  return found;
}

/** A schema as clients send it: Confluent's register/lookup body. */
export interface SchemaInput {
  schema: unknown;
  schemaType?: unknown;
  references?: unknown;
}

export interface ParsedSchema {
  /** The schema's JSON without whitespace, in the client's key order: what is stored and served. */
  text: string;
  /** SHA-256 (hex) of the canonical form: equal fingerprints, same schema, same id. */
  fingerprint: string;
  type: Type;
}

/** Object keys sorted, arrays in order (field, symbol and branch order matter), depth-checked. */
function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_SCHEMA_DEPTH) throw invalidSchema(`Invalid schema: nested deeper than ${MAX_SCHEMA_DEPTH}`);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, depth + 1)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Avro types as Avro Java builds them: named types must be named. */
function avroType(json: unknown): Type {
  return avro.Type.forSchema(json as avro.Schema, { noAnonymousTypes: true });
}

/** Validates a register/lookup body: AVRO only, no references, valid Avro; else 42201 (or 42209). */
export function parseSchema(input: SchemaInput): ParsedSchema {
  const schemaType = input.schemaType;
  if (schemaType !== undefined && schemaType !== null && schemaType !== 'AVRO') {
    throw invalidSchema(
      `schemaType ${JSON.stringify(schemaType)} is not supported: this registry stores AVRO schemas only`,
    );
  }
  const references = input.references;
  if (
    references !== undefined &&
    references !== null &&
    !(Array.isArray(references) && references.length === 0)
  ) {
    throw invalidSchema('schema references are not supported: send the schema with its named types inlined');
  }
  if (typeof input.schema !== 'string' || input.schema.trim() === '') {
    throw invalidSchema('Empty schema: "schema" must be the schema\'s JSON text as a string');
  }
  if (Buffer.byteLength(input.schema, 'utf8') > MAX_SCHEMA_BYTES) {
    throw registryError(
      RegistryErrorCode.SCHEMA_TOO_LARGE,
      `schema exceeds ${MAX_SCHEMA_BYTES} bytes; split it or shorten its docs`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(input.schema);
  } catch (error) {
    throw invalidSchema(`Invalid schema: not JSON (${(error as Error).message.slice(0, 200)})`);
  }
  const canonical = canonicalJson(json);
  let type: Type;
  try {
    type = avroType(json);
  } catch (error) {
    throw invalidSchema(`Invalid schema: ${(error as Error).message.slice(0, 500)}`);
  }
  return {
    text: JSON.stringify(json),
    fingerprint: createHash('sha256').update(canonical).digest('hex'),
    type,
  };
}

// ---------------------------------------------------------------------------------------------------
// Compatibility (pure).

export type SchemaDirection = 'backward' | 'forward';

function directionsOf(level: CompatibilityLevel): SchemaDirection[] {
  if (level.startsWith('BACKWARD')) return ['backward'];
  if (level.startsWith('FORWARD')) return ['forward'];
  if (level.startsWith('FULL')) return ['backward', 'forward'];
  return [];
}

export const isTransitive = (level: CompatibilityLevel): boolean => level.endsWith('_TRANSITIVE');

/**
 * Why `candidate` breaks `level` against `previous` (the versions the level says to check: the
 * latest, or all for transitive levels); empty when compatible. Backward: the candidate, as reader,
 * resolves data written with each previous schema. Forward: each previous schema, as reader, resolves
 * data written with the candidate. avsc's `createResolver` throws exactly when resolution is impossible.
 */
export function compatibilityErrors(
  level: CompatibilityLevel,
  candidate: Type,
  previous: readonly { version: number; type: Type }[],
): string[] {
  const messages: string[] = [];
  for (const direction of directionsOf(level)) {
    for (const { version, type } of previous) {
      const [reader, writer] = direction === 'backward' ? [candidate, type] : [type, candidate];
      try {
        reader.createResolver(writer);
      } catch (error) {
        const what =
          direction === 'backward'
            ? `the new schema cannot read data written with version ${version}`
            : `version ${version} cannot read data written with the new schema`;
        messages.push(`${level}: ${what}: ${(error as Error).message}`);
      }
    }
  }
  return messages;
}

// ---------------------------------------------------------------------------------------------------
// The service.

export interface SubjectVersion {
  subject: string;
  version: number;
  id: number;
  schema: string;
}

export interface CompatibilityResult {
  compatible: boolean;
  messages: string[];
}

export interface SchemaRegistryService {
  /** Registers `input` under `subject` (or finds it registered there) → its global id and version. */
  register(subject: string, input: SchemaInput): Promise<{ id: number; version: number }>;
  /** The version of `subject` holding this schema; 40401 / 40403 when there is none. */
  lookup(subject: string, input: SchemaInput, options?: { deleted?: boolean }): Promise<SubjectVersion>;
  listSubjects(options?: { deleted?: boolean }): Promise<string[]>;
  listVersions(subject: string, options?: { deleted?: boolean }): Promise<number[]>;
  getVersion(
    subject: string,
    version: number | 'latest',
    options?: { deleted?: boolean },
  ): Promise<SubjectVersion>;
  getSchema(id: number): Promise<{ id: number; schema: string }>;
  /**
   * The highest schema id issued so far (0 before the first). Ids are issued in order from 1, each
   * with its schema in the same transaction, and schemas are never deleted: every id from 1 to this
   * one names a schema.
   */
  highestSchemaId(): Promise<number>;
  subjectsOfSchema(id: number, options?: { deleted?: boolean }): Promise<string[]>;
  versionsOfSchema(
    id: number,
    options?: { deleted?: boolean },
  ): Promise<{ subject: string; version: number }[]>;
  /** Soft-deletes every live version (or, with `permanent`, removes a soft-deleted subject) → versions. */
  deleteSubject(subject: string, options?: { permanent?: boolean }): Promise<number[]>;
  deleteVersion(
    subject: string,
    version: number | 'latest',
    options?: { permanent?: boolean },
  ): Promise<number>;
  getGlobalCompatibility(): Promise<CompatibilityLevel>;
  setGlobalCompatibility(level: CompatibilityLevel): Promise<CompatibilityLevel>;
  /** The subject's own level; 40408 when it has none, unless `defaultToGlobal`. */
  getSubjectCompatibility(
    subject: string,
    options?: { defaultToGlobal?: boolean },
  ): Promise<CompatibilityLevel>;
  setSubjectCompatibility(subject: string, level: CompatibilityLevel): Promise<CompatibilityLevel>;
  /** Removes the subject's own level (it follows the global one again) → the level it had. */
  deleteSubjectCompatibility(subject: string): Promise<CompatibilityLevel>;
  /**
   * Tests `input` against one version (Confluent's `/versions/{v}`; `latest` with no versions is
   * compatible) or, with `version` undefined, against what the subject's level says (all live
   * versions for transitive levels, else the latest).
   */
  testCompatibility(
    subject: string,
    input: SchemaInput,
    version: number | 'latest' | undefined,
  ): Promise<CompatibilityResult>;
}

export interface SchemaRegistryDeps {
  meta: MetaStore;
  clock: Clock;
}

interface VersionEntry {
  version: number;
  id: number;
  fingerprint: string;
  deleted: boolean;
  item: Item;
}

interface SubjectState {
  subject: string;
  meta: Item | undefined;
  listing: Item | undefined;
  /** Every version item, soft-deleted ones included, ascending. */
  versions: VersionEntry[];
}

const live = (state: SubjectState) => state.versions.filter((v) => !v.deleted);
const visible = (state: SubjectState, deleted: boolean | undefined) =>
  deleted === true ? state.versions : live(state);

/** Parsed schemas by id: `schema#{id}` never changes, so a warm instance may keep them. */
const TYPE_CACHE_SIZE = 1000;
/** Version and ref items of this many versions go in one transaction (2 ops each, plus a check). */
const VERSIONS_PER_DELETE = 45;

function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

const putOp = (item: ItemInput, previous: Item | undefined): TransactOp => ({
  type: 'put',
  item,
  expect: previous?.v ?? 'absent',
});

export function createSchemaRegistryService({ meta, clock }: SchemaRegistryDeps): SchemaRegistryService {
  const types = new Map<number, Type>();

  async function readSubject(subject: string): Promise<SubjectState> {
    validateSubject(subject);
    const [metaItem, listing] = await meta.batchGet([subjectKey(subject), subjectListKey(subject)], {
      consistent: true,
    });
    const deletedThrough = typeof metaItem?.deletedThrough === 'number' ? metaItem.deletedThrough : 0;
    const versions: VersionEntry[] = [];
    let startAfter: string | undefined;
    do {
      const page = await meta.query(subjectPk(subject), {
        from: FIRST_SUBJECT_VERSION_SK,
        to: LAST_SUBJECT_VERSION_SK,
        startAfter,
        limit: 1000,
        consistent: true,
      });
      for (const item of page.items) {
        const version = item.version as number;
        versions.push({
          version,
          id: item.id as number,
          fingerprint: item.fingerprint as string,
          deleted: item.deleted === true || version <= deletedThrough,
          item,
        });
      }
      startAfter = page.lastKey;
    } while (startAfter !== undefined);
    return { subject, meta: metaItem, listing, versions };
  }

  /** The schema item of `id`, or 40403. */
  async function schemaItem(id: number): Promise<Item> {
    const item = await meta.get(schemaKey(id), { consistent: true });
    if (item === undefined) throw schemaNotFound(String(id));
    return item;
  }

  async function typeOf(id: number): Promise<Type> {
    const cached = types.get(id);
    if (cached !== undefined) return cached;
    const type = avroType(JSON.parse((await schemaItem(id)).schema as string));
    if (types.size >= TYPE_CACHE_SIZE) types.delete(types.keys().next().value as number);
    types.set(id, type);
    return type;
  }

  async function globalCompatibility(): Promise<CompatibilityLevel> {
    const item = await meta.get(registryConfigKey, { consistent: true });
    return (item?.compatibility as CompatibilityLevel | undefined) ?? DEFAULT_COMPATIBILITY;
  }

  async function levelOf(state: SubjectState): Promise<CompatibilityLevel> {
    return (state.meta?.compatibility as CompatibilityLevel | undefined) ?? globalCompatibility();
  }

  async function check(
    level: CompatibilityLevel,
    candidate: Type,
    against: readonly VersionEntry[],
  ): Promise<string[]> {
    if (level === 'NONE' || against.length === 0) return [];
    const previous = await Promise.all(
      against.map(async (entry) => ({ version: entry.version, type: await typeOf(entry.id) })),
    );
    return compatibilityErrors(level, candidate, previous);
  }

  /** The schema's id: the one its fingerprint already has, or a new one (ops allocate it). */
  async function idFor(parsed: ParsedSchema): Promise<{ id: number; ops: TransactOp[] }> {
    const known = await meta.get(schemaFingerprintKey(parsed.fingerprint), { consistent: true });
    if (known !== undefined) return { id: known.id as number, ops: [] };
    const counter = await meta.get(schemaIdCounterKey, { consistent: true });
    const id = ((counter?.lastId as number | undefined) ?? 0) + 1;
    return {
      id,
      ops: [
        putOp({ ...schemaIdCounterKey, lastId: id }, counter),
        {
          type: 'put',
          item: {
            ...schemaKey(id),
            id,
            schema: parsed.text,
            fingerprint: parsed.fingerprint,
            schemaType: 'AVRO',
          },
          expect: 'absent',
        },
        {
          type: 'put',
          item: { ...schemaFingerprintKey(parsed.fingerprint), id },
          expect: 'absent',
        },
      ],
    };
  }

  function resolveVersion(
    state: SubjectState,
    version: number | 'latest',
    deleted: boolean | undefined,
  ): VersionEntry {
    const candidates = visible(state, deleted);
    if (candidates.length === 0) throw subjectNotFound(state.subject);
    const entry = version === 'latest' ? candidates.at(-1) : candidates.find((v) => v.version === version);
    if (entry === undefined) throw versionNotFound(state.subject, version);
    return entry;
  }

  async function toSubjectVersion(subject: string, entry: VersionEntry): Promise<SubjectVersion> {
    const item = await schemaItem(entry.id);
    return { subject, version: entry.version, id: entry.id, schema: item.schema as string };
  }

  /** The (subject, version) pairs using schema `id`, with whether each is soft-deleted. */
  async function referencesOf(id: number): Promise<{ subject: string; version: number; deleted: boolean }[]> {
    const items = await queryAll(meta, schemaPk(id), { consistent: true });
    const found = items.some((item) => item.sk === 'meta');
    const refs = items.filter((item) => item.sk.startsWith(SCHEMA_REF_SK_PREFIX));
    if (!found) throw schemaNotFound(String(id));
    const pairs = refs.map((ref) => ({ subject: ref.subject as string, version: ref.version as number }));
    const out: { subject: string; version: number; deleted: boolean }[] = [];
    // Each pair needs its version item (own flag) and its subject's meta (deletedThrough).
    for (const group of chunks(pairs, Math.floor(MAX_BATCH_GET_KEYS / 2))) {
      const keys = group.flatMap((p) => [subjectVersionKey(p.subject, p.version), subjectKey(p.subject)]);
      const items = await meta.batchGet(keys, { consistent: true });
      group.forEach((pair, i) => {
        const versionItem = items[2 * i];
        const subjectItem = items[2 * i + 1];
        if (versionItem === undefined) return; // permanently deleted while we read
        const deletedThrough = (subjectItem?.deletedThrough as number | undefined) ?? 0;
        out.push({ ...pair, deleted: versionItem.deleted === true || pair.version <= deletedThrough });
      });
    }
    return out.sort((a, b) =>
      a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : a.version - b.version,
    );
  }

  const casOptions = (what: string) => ({ clock, what });

  return {
    async register(subject, input) {
      validateSubject(subject);
      const parsed = parseSchema(input);
      return retryOnConflict(casOptions(`subject ${subject}`), async () => {
        const state = await readSubject(subject);
        const liveVersions = live(state);
        const existing = liveVersions.findLast((v) => v.fingerprint === parsed.fingerprint);
        if (existing !== undefined) return { id: existing.id, version: existing.version };

        const level = await levelOf(state);
        const against = isTransitive(level) ? liveVersions : liveVersions.slice(-1);
        const messages = await check(level, parsed.type, against);
        if (messages.length > 0) {
          throw registryError(
            RegistryErrorCode.INCOMPATIBLE_SCHEMA,
            `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: ${messages.join('; ')}`,
          );
        }

        const { id, ops } = await idFor(parsed);
        const version = ((state.meta?.latestVersion as number | undefined) ?? 0) + 1;
        const metaAttributes = state.meta === undefined ? subjectKey(subject) : attributesOf(state.meta);
        ops.push(
          putOp({ ...metaAttributes, latestVersion: version }, state.meta),
          {
            type: 'put',
            item: { ...subjectVersionKey(subject, version), version, id, fingerprint: parsed.fingerprint },
            expect: 'absent',
          },
          {
            type: 'put',
            item: { ...schemaRefKey(id, subject, version), subject, version },
            expect: 'absent',
          },
        );
        if (state.listing === undefined || state.listing.deleted === true) {
          ops.push(putOp({ ...subjectListKey(subject), deleted: false }, state.listing));
        }
        await meta.transact(ops);
        return { id, version };
      });
    },

    async lookup(subject, input, options = {}) {
      validateSubject(subject);
      const parsed = parseSchema(input);
      const state = await readSubject(subject);
      const candidates = visible(state, options.deleted);
      if (candidates.length === 0) throw subjectNotFound(subject);
      const entry = candidates.findLast((v) => v.fingerprint === parsed.fingerprint);
      if (entry === undefined) throw schemaNotFound(`under subject '${subject}'`);
      return toSubjectVersion(subject, entry);
    },

    async listSubjects(options = {}) {
      const items = await queryAll(meta, SUBJECTS_PK, { consistent: true });
      return items.filter((item) => options.deleted === true || item.deleted !== true).map((item) => item.sk);
    },

    async listVersions(subject, options = {}) {
      const versions = visible(await readSubject(subject), options.deleted).map((v) => v.version);
      if (versions.length === 0) throw subjectNotFound(subject);
      return versions;
    },

    async getVersion(subject, version, options = {}) {
      const state = await readSubject(subject);
      return toSubjectVersion(subject, resolveVersion(state, version, options.deleted));
    },

    async getSchema(id) {
      return { id, schema: (await schemaItem(id)).schema as string };
    },

    async highestSchemaId() {
      const counter = await meta.get(schemaIdCounterKey, { consistent: true });
      return (counter?.lastId as number | undefined) ?? 0;
    },

    async subjectsOfSchema(id, options = {}) {
      const refs = await referencesOf(id);
      const subjects = refs.filter((r) => options.deleted === true || !r.deleted).map((r) => r.subject);
      return [...new Set(subjects)];
    },

    async versionsOfSchema(id, options = {}) {
      const refs = await referencesOf(id);
      return refs
        .filter((r) => options.deleted === true || !r.deleted)
        .map(({ subject, version }) => ({ subject, version }));
    },

    async deleteSubject(subject, options = {}) {
      return retryOnConflict(casOptions(`subject ${subject}`), async () => {
        const state = await readSubject(subject);
        if (state.versions.length === 0 || state.meta === undefined) throw subjectNotFound(subject);
        const liveVersions = live(state);
        if (options.permanent !== true) {
          if (liveVersions.length === 0) {
            throw registryError(
              RegistryErrorCode.SUBJECT_SOFT_DELETED,
              `Subject '${subject}' was soft deleted. Set permanent=true to delete permanently`,
            );
          }
          await meta.transact([
            putOp(
              { ...attributesOf(state.meta), deletedThrough: state.meta.latestVersion as number },
              state.meta,
            ),
            putOp({ ...subjectListKey(subject), deleted: true }, state.listing),
          ]);
          return liveVersions.map((v) => v.version);
        }
        if (liveVersions.length > 0) {
          throw registryError(
            RegistryErrorCode.SUBJECT_NOT_SOFT_DELETED,
            `Subject '${subject}' was not deleted first before being permanently deleted`,
          );
        }
        // Versions first, the meta item last: until it goes, a retry finds what is left and a
        // concurrent registration (which changes the meta item) stops the remaining transactions.
        const metaCheck: TransactOp = { type: 'check', key: subjectKey(subject), expect: state.meta.v };
        for (const group of chunks(state.versions, VERSIONS_PER_DELETE)) {
          await meta.transact([
            metaCheck,
            ...group.flatMap((entry): TransactOp[] => [
              { type: 'delete', key: subjectVersionKey(subject, entry.version), expect: entry.item.v },
              { type: 'delete', key: schemaRefKey(entry.id, subject, entry.version) },
            ]),
          ]);
        }
        const last: TransactOp[] = [{ type: 'delete', key: subjectKey(subject), expect: state.meta.v }];
        if (state.listing !== undefined) {
          last.push({ type: 'delete', key: subjectListKey(subject), expect: state.listing.v });
        }
        await meta.transact(last);
        return state.versions.map((v) => v.version);
      });
    },

    async deleteVersion(subject, version, options = {}) {
      return retryOnConflict(casOptions(`subject ${subject}`), async () => {
        const state = await readSubject(subject);
        // A number may name a soft-deleted version (40406 / permanent delete); `latest` means the
        // latest live version, except for a permanent delete, which addresses soft-deleted ones.
        const entry = resolveVersion(state, version, options.permanent === true || version !== 'latest');
        if (state.meta === undefined) throw subjectNotFound(subject);
        const metaCheck: TransactOp = { type: 'check', key: subjectKey(subject), expect: state.meta.v };
        const others = state.versions.filter((v) => v.version !== entry.version);
        if (options.permanent !== true) {
          if (entry.deleted) {
            throw registryError(
              RegistryErrorCode.VERSION_SOFT_DELETED,
              `Subject '${subject}' Version ${entry.version} was soft deleted. Set permanent=true to delete permanently`,
            );
          }
          const ops: TransactOp[] = [
            metaCheck,
            putOp({ ...attributesOf(entry.item), deleted: true }, entry.item),
          ];
          if (!others.some((v) => !v.deleted)) {
            ops.push(putOp({ ...subjectListKey(subject), deleted: true }, state.listing));
          }
          await meta.transact(ops);
          return entry.version;
        }
        if (!entry.deleted) {
          throw registryError(
            RegistryErrorCode.VERSION_NOT_SOFT_DELETED,
            `Subject '${subject}' Version ${entry.version} was not deleted first before being permanently deleted`,
          );
        }
        const ops: TransactOp[] = [
          metaCheck,
          { type: 'delete', key: subjectVersionKey(subject, entry.version), expect: entry.item.v },
          { type: 'delete', key: schemaRefKey(entry.id, subject, entry.version) },
        ];
        if (others.length === 0 && state.listing !== undefined) {
          ops.push({ type: 'delete', key: subjectListKey(subject), expect: state.listing.v });
        }
        await meta.transact(ops);
        return entry.version;
      });
    },

    getGlobalCompatibility: globalCompatibility,

    async setGlobalCompatibility(level) {
      const valid = parseCompatibilityLevel(level);
      await retryOnConflict(casOptions('the global compatibility level'), async () => {
        const item = await meta.get(registryConfigKey, { consistent: true });
        await meta.transact([putOp({ ...registryConfigKey, compatibility: valid }, item)]);
      });
      return valid;
    },

    async getSubjectCompatibility(subject, options = {}) {
      validateSubject(subject);
      const item = await meta.get(subjectKey(subject), { consistent: true });
      const level = item?.compatibility as CompatibilityLevel | undefined;
      if (level !== undefined) return level;
      if (options.defaultToGlobal === true) return globalCompatibility();
      throw registryError(
        RegistryErrorCode.SUBJECT_COMPATIBILITY_NOT_CONFIGURED,
        `Subject '${subject}' does not have subject-level compatibility configured`,
      );
    },

    async setSubjectCompatibility(subject, level) {
      validateSubject(subject);
      const valid = parseCompatibilityLevel(level);
      await retryOnConflict(casOptions(`subject ${subject}`), async () => {
        const item = await meta.get(subjectKey(subject), { consistent: true });
        const attributes =
          item === undefined ? { ...subjectKey(subject), latestVersion: 0 } : attributesOf(item);
        await meta.transact([putOp({ ...attributes, compatibility: valid }, item)]);
      });
      return valid;
    },

    async deleteSubjectCompatibility(subject) {
      validateSubject(subject);
      return retryOnConflict(casOptions(`subject ${subject}`), async () => {
        const item = await meta.get(subjectKey(subject), { consistent: true });
        if (item === undefined) throw subjectNotFound(subject);
        const level = item.compatibility as CompatibilityLevel | undefined;
        if (level === undefined) {
          throw registryError(
            RegistryErrorCode.SUBJECT_COMPATIBILITY_NOT_CONFIGURED,
            `Subject '${subject}' does not have subject-level compatibility configured`,
          );
        }
        const { compatibility: _removed, ...rest } = attributesOf(item);
        await meta.transact([putOp(rest as ItemInput, item)]);
        return level;
      });
    },

    async testCompatibility(subject, input, version) {
      validateSubject(subject);
      const parsed = parseSchema(input);
      const state = await readSubject(subject);
      const liveVersions = live(state);
      const level = await levelOf(state);
      let against: VersionEntry[];
      if (version === undefined) {
        against = isTransitive(level) ? liveVersions : liveVersions.slice(-1);
      } else if (version === 'latest' && liveVersions.length === 0) {
        against = [];
      } else {
        against = [resolveVersion(state, version, false)];
      }
      const messages = await check(level, parsed.type, against);
      return { compatible: messages.length === 0, messages };
    },
  };
}
