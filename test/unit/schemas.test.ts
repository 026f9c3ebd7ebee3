/**
 * The schema registry's core on the in-memory metadata store: registration and dedupe, versions,
 * soft and permanent deletes, configuration, and the compatibility matrix (every level, with a
 * compatible and an incompatible evolution each; transitive levels against every live version).
 */
import { describe, expect, it } from 'vitest';
import { CountingMetaStore } from '../../lambdas/adapters/counting-stores.ts';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import {
  type CompatibilityLevel,
  createSchemaRegistryService,
  MAX_SCHEMA_BYTES,
  parseVersion,
  registryErrorCode,
  registryErrorStatus,
} from '../../lambdas/core/schemas.ts';
import { ManualClock } from '../../lambdas/ports/clock.ts';

function registry() {
  const clock = new ManualClock();
  const meta = new CountingMetaStore(new MemoryMetaStore(clock));
  return { meta, schemas: createSchemaRegistryService({ meta, clock }) };
}

/** The Confluent error code a call fails with. */
async function errorCode(promise: Promise<unknown>): Promise<number | undefined> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StreamError);
    return registryErrorCode(error);
  }
  throw new Error('expected a failure');
}

type Field = { name: string; type: unknown; default?: unknown };
const record = (fields: Field[], name = 'User') => JSON.stringify({ type: 'record', name, fields });
const avro = (schema: string) => ({ schema });

const id: Field = { name: 'id', type: 'long' };
const name: Field = { name: 'name', type: 'string' };
const nameWithDefault: Field = { name: 'name', type: 'string', default: 'anonymous' };
const email: Field = { name: 'email', type: ['null', 'string'], default: null };
const emailRequired: Field = { name: 'email', type: 'string' };

describe('schema registry: registration', () => {
  it('gives one schema one id across subjects, and a new id to a different schema', async () => {
    // Prepare
    const { schemas } = registry();
    const v1 = record([id, name]);
    // Act
    const first = await schemas.register('users-value', avro(v1));
    const again = await schemas.register('users-value', avro(v1));
    // Whitespace and key order do not make a new schema.
    const respelt = await schemas.register(
      'users-value',
      avro(
        `{ "fields": [{"type":"long","name":"id"}, {"name":"name","type":"string"}],\n "name": "User", "type": "record" }`,
      ),
    );
    const elsewhere = await schemas.register('audit-value', avro(v1));
    const v2 = await schemas.register('users-value', avro(record([id, name, email])));
    // Assess
    expect(first).toEqual({ id: 1, version: 1 });
    expect(again).toEqual(first);
    expect(respelt).toEqual(first);
    expect(elsewhere).toEqual({ id: 1, version: 1 });
    expect(v2).toEqual({ id: 2, version: 2 });
    expect(await schemas.listSubjects()).toEqual(['audit-value', 'users-value']);
    expect(await schemas.listVersions('users-value')).toEqual([1, 2]);
    expect(await schemas.subjectsOfSchema(1)).toEqual(['audit-value', 'users-value']);
    expect(await schemas.versionsOfSchema(1)).toEqual([
      { subject: 'audit-value', version: 1 },
      { subject: 'users-value', version: 1 },
    ]);
  });

  it('keeps defaults, docs, logical types and custom properties: they make a different schema', async () => {
    // Prepare
    const { schemas } = registry();
    await schemas.setGlobalCompatibility('NONE');
    const plain = record([id, { name: 'at', type: 'long' }]);
    const logical = record([id, { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } }]);
    const withDefault = record([id, { name: 'at', type: 'long', default: 0 }]);
    // Act
    const ids = [];
    for (const schema of [plain, logical, withDefault])
      ids.push((await schemas.register('s', avro(schema))).id);
    // Assess: three ids, and the text served is what was registered (minus whitespace)
    expect(ids).toEqual([1, 2, 3]);
    expect(JSON.parse((await schemas.getSchema(2)).schema)).toEqual(JSON.parse(logical));
  });

  it('serves versions by number and latest, and schemas by id', async () => {
    // Prepare
    const { schemas } = registry();
    const v1 = record([id]);
    const v2 = record([id, email]);
    await schemas.register('users-value', avro(v1));
    await schemas.register('users-value', avro(v2));
    // Act
    const latest = await schemas.getVersion('users-value', 'latest');
    const first = await schemas.getVersion('users-value', 1);
    const byId = await schemas.getSchema(2);
    const looked = await schemas.lookup('users-value', avro(v1));
    // Assess
    expect(latest).toEqual({ subject: 'users-value', version: 2, id: 2, schema: v2 });
    expect(first).toEqual({ subject: 'users-value', version: 1, id: 1, schema: v1 });
    expect(byId).toEqual({ id: 2, schema: v2 });
    expect(looked).toMatchObject({ version: 1, id: 1 });
    expect(await errorCode(schemas.getVersion('nope', 'latest'))).toBe(40401);
    expect(await errorCode(schemas.getVersion('users-value', 3))).toBe(40402);
    expect(await errorCode(schemas.getSchema(99))).toBe(40403);
    expect(await errorCode(schemas.lookup('users-value', avro(record([id, name]))))).toBe(40403);
    expect(await errorCode(schemas.lookup('nope', avro(v1)))).toBe(40401);
    expect(await errorCode(schemas.subjectsOfSchema(99))).toBe(40403);
  });

  it('refuses invalid schemas, other schema types, references and oversized schemas', async () => {
    // Prepare
    const { schemas } = registry();
    const cases: [unknown, number][] = [
      [{ schema: '{not json' }, 42201],
      [{ schema: '{"type":"record","name":"X","fields":[{"name":"a","type":"nope"}]}' }, 42201],
      // Avro Java requires named types to be named; so does this registry.
      [{ schema: '{"type":"record","fields":[]}' }, 42201],
      [{ schema: '{"type":"record","name":"X","fields":[{"name":"a","type":"int","default":"x"}]}' }, 42201],
      [{ schema: '' }, 42201],
      [{ schema: 42 }, 42201],
      [{ schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' }, 42201],
      [{ schema: record([id]), references: [{ name: 'x', subject: 'y', version: 1 }] }, 42201],
      [{ schema: JSON.stringify({ type: 'string', doc: 'x'.repeat(MAX_SCHEMA_BYTES) }) }, 42209],
      [{ schema: `${'['.repeat(300)}"int"${']'.repeat(300)}` }, 42201],
    ];
    // Act
    const codes = [];
    for (const [input, _] of cases)
      codes.push(await errorCode(schemas.register('s', input as { schema: string })));
    // Assess
    expect(codes).toEqual(cases.map(([, code]) => code));
    expect(await schemas.listSubjects({ deleted: true })).toEqual([]);
    // Explicit AVRO, null references and an empty list are all fine.
    await expect(
      schemas.register('s', { schema: record([id]), schemaType: 'AVRO', references: [] }),
    ).resolves.toEqual({ id: 1, version: 1 });
  });

  it('refuses invalid subjects and versions with their Confluent codes', async () => {
    const { schemas } = registry();
    expect(await errorCode(schemas.register('bad\u0000subject', avro(record([id]))))).toBe(42208);
    expect(await errorCode(schemas.register('x'.repeat(1001), avro(record([id]))))).toBe(42208);
    expect(() => parseVersion('0')).toThrow(StreamError);
    expect(() => parseVersion('1.5')).toThrow(/not a valid version/);
    expect(() => parseVersion('2147483648')).toThrow(StreamError);
    expect([parseVersion('latest'), parseVersion('-1'), parseVersion('7')]).toEqual(['latest', 'latest', 7]);
    expect([40401, 40403, 409, 42201, 42202, 50001].map(registryErrorStatus)).toEqual([
      404, 404, 409, 422, 422, 500,
    ]);
  });

  it('allocates distinct ids to concurrent registrations and one version to a repeated schema', async () => {
    // Prepare
    const { schemas } = registry();
    const distinct = Array.from({ length: 6 }, (_, i) => record([id], `Event${i}`));
    // Act
    // Different subjects: the registrations meet only at the id counter.
    const registered = await Promise.all(
      distinct.map((schema, i) => schemas.register(`s${i}`, avro(schema))),
    );
    const same = await Promise.all(
      Array.from({ length: 4 }, () => schemas.register('same', avro(distinct[0]!))),
    );
    // Assess
    expect(new Set(registered.map((r) => r.id)).size).toBe(6);
    expect(registered.map((r) => r.id).sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(same.map((r) => `${r.id}/${r.version}`)).size).toBe(1);
    expect(await schemas.listVersions('same')).toEqual([1]);
  });
});

describe('schema registry: deletes', () => {
  async function subjectWithVersions(n: number) {
    const world = registry();
    await world.schemas.setGlobalCompatibility('NONE');
    for (let i = 1; i <= n; i++) {
      await world.schemas.register('s', avro(record([id], `V${i}`)));
    }
    return world;
  }

  it('soft-deletes a version, then deletes it permanently only after the soft delete', async () => {
    // Prepare
    const { schemas } = await subjectWithVersions(3);
    // Act + Assess
    expect(await errorCode(schemas.deleteVersion('s', 2, { permanent: true }))).toBe(40407);
    expect(await schemas.deleteVersion('s', 2)).toBe(2);
    expect(await errorCode(schemas.deleteVersion('s', 2))).toBe(40406);
    expect(await schemas.listVersions('s')).toEqual([1, 3]);
    expect(await schemas.listVersions('s', { deleted: true })).toEqual([1, 2, 3]);
    expect(await errorCode(schemas.getVersion('s', 2))).toBe(40402);
    expect(await schemas.getVersion('s', 2, { deleted: true })).toMatchObject({ version: 2, id: 2 });
    expect(await schemas.versionsOfSchema(2)).toEqual([]);
    expect(await schemas.versionsOfSchema(2, { deleted: true })).toEqual([{ subject: 's', version: 2 }]);
    expect(await schemas.deleteVersion('s', 2, { permanent: true })).toBe(2);
    expect(await schemas.listVersions('s', { deleted: true })).toEqual([1, 3]);
    // The id stays readable: records written with it must stay decodable.
    expect((await schemas.getSchema(2)).schema).toContain('V2');
    expect(await schemas.deleteVersion('s', 'latest')).toBe(3);
    expect(await schemas.getVersion('s', 'latest')).toMatchObject({ version: 1 });
  });

  it('soft-deletes a subject in one write, continues its version numbers, and removes it permanently', async () => {
    // Prepare
    const { schemas, meta } = await subjectWithVersions(3);
    // Act: soft delete
    expect(await errorCode(schemas.deleteSubject('s', { permanent: true }))).toBe(40405);
    const writesBefore = meta.counts.transacts;
    expect(await schemas.deleteSubject('s')).toEqual([1, 2, 3]);
    // Assess
    expect(meta.counts.transacts - writesBefore).toBe(1);
    expect(await errorCode(schemas.deleteSubject('s'))).toBe(40404);
    expect(await errorCode(schemas.listVersions('s'))).toBe(40401);
    expect(await schemas.listSubjects()).toEqual([]);
    expect(await schemas.listSubjects({ deleted: true })).toEqual(['s']);
    // Registering again continues the numbering; the old versions stay deleted.
    expect(await schemas.register('s', avro(record([id], 'V1')))).toEqual({ id: 1, version: 4 });
    expect(await schemas.listVersions('s')).toEqual([4]);
    // Act: permanent delete of the whole subject
    await schemas.deleteSubject('s');
    expect(await schemas.deleteSubject('s', { permanent: true })).toEqual([1, 2, 3, 4]);
    // Assess
    expect(await schemas.listSubjects({ deleted: true })).toEqual([]);
    expect(await errorCode(schemas.deleteSubject('s'))).toBe(40401);
    expect(await schemas.register('s', avro(record([id], 'V9')))).toEqual({ id: 4, version: 1 });
  });

  it('removes a subject of more versions than one transaction holds', async () => {
    // Prepare
    const { schemas } = await subjectWithVersions(60);
    // Act
    await schemas.deleteSubject('s');
    const removed = await schemas.deleteSubject('s', { permanent: true });
    // Assess
    expect(removed).toHaveLength(60);
    expect(await errorCode(schemas.listVersions('s', { deleted: true }))).toBe(40401);
    expect(await schemas.subjectsOfSchema(60, { deleted: true })).toEqual([]);
  });
});

describe('schema registry: config', () => {
  it('has a global level (BACKWARD by default) and optional subject levels', async () => {
    // Prepare
    const { schemas } = registry();
    // Act + Assess
    expect(await schemas.getGlobalCompatibility()).toBe('BACKWARD');
    expect(await schemas.setGlobalCompatibility('full' as CompatibilityLevel)).toBe('FULL');
    expect(await schemas.getGlobalCompatibility()).toBe('FULL');
    expect(await errorCode(schemas.getSubjectCompatibility('s'))).toBe(40408);
    expect(await schemas.getSubjectCompatibility('s', { defaultToGlobal: true })).toBe('FULL');
    expect(await schemas.setSubjectCompatibility('s', 'NONE')).toBe('NONE');
    expect(await schemas.getSubjectCompatibility('s')).toBe('NONE');
    expect(await errorCode(schemas.setSubjectCompatibility('s', 'SIDEWAYS' as CompatibilityLevel))).toBe(
      42203,
    );
    // A configured subject with no versions is not listed.
    expect(await schemas.listSubjects({ deleted: true })).toEqual([]);
    expect(await schemas.deleteSubjectCompatibility('s')).toBe('NONE');
    expect(await errorCode(schemas.getSubjectCompatibility('s'))).toBe(40408);
  });

  it('applies the subject level before the global one', async () => {
    // Prepare: an evolution BACKWARD refuses
    const { schemas } = registry();
    await schemas.register('s', avro(record([id])));
    const breaking = avro(record([id, emailRequired]));
    expect(await errorCode(schemas.register('s', breaking))).toBe(409);
    // Act
    await schemas.setSubjectCompatibility('s', 'NONE');
    // Assess
    expect(await schemas.register('s', breaking)).toEqual({ id: 2, version: 2 });
  });
});

/**
 * Evolutions of v1 = User{id: long, name: string}, and whether each level accepts them. Backward: the
 * new schema reads old data; forward: old readers read new data; full: both.
 */
const v1 = record([id, name]);
const evolutions = {
  addFieldWithDefault: record([id, name, email]),
  addFieldWithoutDefault: record([id, name, emailRequired]),
  removeField: record([id]),
  promoteType: record([{ name: 'id', type: 'double' }, name]),
  changeType: record([{ name: 'id', type: 'string' }, name]),
};
type Evolution = keyof typeof evolutions;

const MATRIX: [CompatibilityLevel, Evolution, boolean][] = [
  ['NONE', 'changeType', true],
  ['NONE', 'addFieldWithoutDefault', true],
  ['BACKWARD', 'addFieldWithDefault', true],
  ['BACKWARD', 'removeField', true],
  ['BACKWARD', 'promoteType', true],
  ['BACKWARD', 'addFieldWithoutDefault', false],
  ['BACKWARD', 'changeType', false],
  ['FORWARD', 'addFieldWithoutDefault', true],
  ['FORWARD', 'addFieldWithDefault', true],
  ['FORWARD', 'removeField', false],
  ['FORWARD', 'promoteType', false],
  ['FULL', 'addFieldWithDefault', true],
  ['FULL', 'addFieldWithoutDefault', false],
  ['FULL', 'removeField', false],
  ['FULL', 'changeType', false],
  // With one previous version, the transitive levels agree with their plain forms.
  ['BACKWARD_TRANSITIVE', 'addFieldWithDefault', true],
  ['BACKWARD_TRANSITIVE', 'addFieldWithoutDefault', false],
  ['FORWARD_TRANSITIVE', 'addFieldWithoutDefault', true],
  ['FORWARD_TRANSITIVE', 'removeField', false],
  ['FULL_TRANSITIVE', 'addFieldWithDefault', true],
  ['FULL_TRANSITIVE', 'removeField', false],
];

/**
 * Three-version chains where the third is compatible with the second but not with the first, so the
 * plain level accepts it and the transitive one refuses it; and a third that every version accepts.
 */
const TRANSITIVE: Record<
  'BACKWARD' | 'FORWARD' | 'FULL',
  { chain: [string, string]; onlyLatest: string; all: string }
> = {
  // The third drops the default of `name`: it reads v2's data, not v1's (which lacks `name`).
  BACKWARD: {
    chain: [record([id]), record([id, nameWithDefault])],
    onlyLatest: record([id, name]),
    all: record([id, nameWithDefault, email]),
  },
  // v2 gives `name` a default so it can read data without it; v1 cannot.
  FORWARD: {
    chain: [record([id, name]), record([id, nameWithDefault])],
    onlyLatest: record([id]),
    all: record([id, nameWithDefault, { name: 'age', type: 'int' }]),
  },
  FULL: {
    chain: [record([id]), record([id, nameWithDefault])],
    onlyLatest: record([id, name]),
    all: record([id, nameWithDefault, email]),
  },
};

describe('schema registry: compatibility matrix', () => {
  it.each(MATRIX)('%s %s → %s', async (level, evolution, accepted) => {
    // Prepare
    const { schemas } = registry();
    await schemas.setSubjectCompatibility('s', level);
    await schemas.register('s', avro(v1));
    const candidate = avro(evolutions[evolution]);
    // Act
    const tested = await schemas.testCompatibility('s', candidate, 'latest');
    const registering = schemas.register('s', candidate);
    // Assess: the compatibility test and registration agree
    expect(tested.compatible).toBe(accepted);
    expect(tested.messages.length === 0).toBe(accepted);
    if (accepted) {
      await expect(registering).resolves.toEqual({ id: 2, version: 2 });
    } else {
      expect(await errorCode(registering)).toBe(409);
      expect(await schemas.listVersions('s')).toEqual([1]);
    }
  });

  it.each(Object.keys(TRANSITIVE) as (keyof typeof TRANSITIVE)[])(
    '%s accepts what the latest version reads; its _TRANSITIVE form checks every version',
    async (plain) => {
      const { chain, onlyLatest, all } = TRANSITIVE[plain];
      for (const transitive of [false, true]) {
        // Prepare
        const level = (transitive ? `${plain}_TRANSITIVE` : plain) as CompatibilityLevel;
        const { schemas } = registry();
        await schemas.setSubjectCompatibility('s', level);
        for (const schema of chain) await schemas.register('s', avro(schema));
        // Act
        const againstLevel = await schemas.testCompatibility('s', avro(onlyLatest), undefined);
        const againstFirst = await schemas.testCompatibility('s', avro(onlyLatest), 1);
        const againstLatest = await schemas.testCompatibility('s', avro(onlyLatest), 'latest');
        const registering = schemas.register('s', avro(onlyLatest));
        // Assess
        expect(againstLatest.compatible, level).toBe(true);
        expect(againstFirst.compatible, level).toBe(false);
        expect(againstLevel.compatible, level).toBe(!transitive);
        if (transitive) expect(await errorCode(registering), level).toBe(409);
        else await expect(registering, level).resolves.toMatchObject({ version: 3 });
        await expect(schemas.register('s', avro(all)), level).resolves.toMatchObject({
          version: transitive ? 3 : 4,
        });
      }
    },
  );

  it('leaves soft-deleted versions out of transitive checks', async () => {
    // Prepare
    const { chain, onlyLatest } = TRANSITIVE.BACKWARD;
    const { schemas } = registry();
    await schemas.setSubjectCompatibility('s', 'BACKWARD_TRANSITIVE');
    for (const schema of chain) await schemas.register('s', avro(schema));
    expect(await errorCode(schemas.register('s', avro(onlyLatest)))).toBe(409);
    // Act
    await schemas.deleteVersion('s', 1);
    // Assess
    await expect(schemas.register('s', avro(onlyLatest))).resolves.toMatchObject({ version: 3 });
  });

  it('answers compatible for latest of a subject without versions, and 40401/40402 for numbers', async () => {
    const { schemas } = registry();
    expect(await schemas.testCompatibility('new', avro(v1), 'latest')).toEqual({
      compatible: true,
      messages: [],
    });
    expect(await errorCode(schemas.testCompatibility('new', avro(v1), 1))).toBe(40401);
    await schemas.register('new', avro(v1));
    expect(await errorCode(schemas.testCompatibility('new', avro(v1), 2))).toBe(40402);
    expect(await errorCode(schemas.testCompatibility('new', { schema: '{' }, 'latest'))).toBe(42201);
  });
});
