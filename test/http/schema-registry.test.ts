/**
 * The registry against a widely used third-party Confluent client, unmodified:
 * @kafkajs/confluent-schema-registry, pointed at a real local server's `/schema-registry`. It
 * registers, fetches ids (by version, latest, by schema), fetches schemas by id and encodes/decodes;
 * what it has no API for (compatibility tests, deletes, config) goes over raw HTTP in Confluent's
 * content type. Also: Confluent's error shapes, and wire-format interop with the Streambed SDK.
 */
import { COMPATIBILITY, SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { avroSerde, SchemaRegistryClient, StreambedError } from '../../client/index.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';

const CONFLUENT_TYPE = 'application/vnd.schemaregistry.v1+json';

let server: LocalServer;
let base: string;
beforeAll(async () => {
  server = await startLocalServer({ port: 0, memory: true });
  base = `${server.url}/schema-registry`;
});
afterAll(async () => server.close());

/** A raw request in Confluent's content type; the JSON answer (or text) and the response headers. */
async function call(
  method: string,
  path: string,
  body?: unknown,
  contentType = CONFLUENT_TYPE,
  /** Send `body` (a string) as it is, not as JSON. */
  raw = false,
  // biome-ignore lint/suspicious/noExplicitAny: JSON answers of many shapes, asserted field by field
): Promise<{ status: number; type: string | null; body: any }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': contentType },
    body: body === undefined ? undefined : raw ? String(body) : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // a raw schema text answer stays text
  }
  return { status: response.status, type: response.headers.get('content-type'), body: parsed };
}

const userV1 = {
  type: 'record' as const,
  name: 'User',
  namespace: 'com.example',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'name', type: 'string' },
  ],
};
const userV2 = {
  ...userV1,
  fields: [...userV1.fields, { name: 'email', type: ['null', 'string'], default: null }],
};
const userBreaking = { ...userV1, fields: [{ name: 'id', type: 'string' }] };

/** The Confluent client's error for a failed call. */
async function rejection(promise: Promise<unknown>): Promise<{ status?: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { status?: number; message: string };
  }
  throw new Error('expected a failure');
}

describe('schema registry with @kafkajs/confluent-schema-registry', () => {
  it('registers, fetches ids and schemas, encodes and decodes', async () => {
    // Prepare
    const registry = new SchemaRegistry({ host: base });
    const subject = 'users-value';
    // Act
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(userV1) },
      { subject },
    );
    const again = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(userV1) },
      { subject },
    );
    const { id: id2 } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(userV2) },
      { subject },
    );
    const byVersion = await registry.getRegistryId(subject, 1);
    const latest = await registry.getLatestSchemaId(subject);
    const bySchema = await registry.getRegistryIdBySchema(subject, {
      type: SchemaType.AVRO,
      schema: JSON.stringify(userV1),
    });
    // A fresh client has nothing cached: it must fetch the schema by id to decode.
    const fresh = new SchemaRegistry({ host: base });
    const schema = (await fresh.getSchema(id2)) as { name?: string };
    const encoded = await registry.encode(id2, { id: 7, name: 'Ada', email: 'ada@example.com' });
    const decoded = await fresh.decode(encoded);
    // Assess
    expect(id).toBe(1);
    expect(again.id).toBe(id);
    expect(id2).toBe(2);
    expect(byVersion).toBe(id);
    expect(latest).toBe(id2);
    expect(bySchema).toBe(id);
    expect(schema.name).toBe('com.example.User');
    expect(encoded[0]).toBe(0);
    expect(encoded.readUInt32BE(1)).toBe(id2);
    expect({ ...decoded }).toEqual({ id: 7, name: 'Ada', email: 'ada@example.com' });
    // The client set the subject's level on first registration (its default, BACKWARD).
    expect((await call('GET', `/config/${subject}`)).body).toEqual({ compatibilityLevel: 'BACKWARD' });
  });

  it('decodes old data into a newer reader schema', async () => {
    // Prepare
    const registry = new SchemaRegistry({ host: base });
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(userV1) },
      { subject: 'evolving-value' },
    );
    const old = await registry.encode(id, { id: 1, name: 'Grace' });
    // Act
    const read = await registry.decode(old, { [SchemaType.AVRO]: { readerSchema: userV2 } });
    // Assess
    expect({ ...read }).toEqual({ id: 1, name: 'Grace', email: null });
  });

  it('refuses an incompatible schema with 409 and reports compatibility over HTTP', async () => {
    // Prepare
    const registry = new SchemaRegistry({ host: base });
    const subject = 'strict-value';
    await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(userV1) },
      { subject, compatibility: COMPATIBILITY.FULL_TRANSITIVE },
    );
    // Act
    const refused = await rejection(
      registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(userBreaking) },
        {
          subject,
          compatibility: COMPATIBILITY.FULL_TRANSITIVE,
        },
      ),
    );
    const compatible = await call('POST', `/compatibility/subjects/${subject}/versions/latest`, {
      schema: JSON.stringify(userV2),
    });
    const incompatible = await call('POST', `/compatibility/subjects/${subject}/versions/1?verbose=true`, {
      schema: JSON.stringify(userBreaking),
    });
    const config = await call('GET', `/config/${subject}`);
    // Assess
    expect(refused.status).toBe(409);
    expect(refused.message).toMatch(/incompatible with an earlier schema/);
    expect(compatible).toMatchObject({ status: 200, type: CONFLUENT_TYPE, body: { is_compatible: true } });
    expect(incompatible.status).toBe(200);
    expect(incompatible.body.is_compatible).toBe(false);
    expect(incompatible.body.messages.join()).toMatch(/FULL_TRANSITIVE/);
    expect(config.body).toEqual({ compatibilityLevel: 'FULL_TRANSITIVE' });
  });

  it('answers the REST subset in Confluent shapes', async () => {
    // Prepare
    const subject = 'rest-value';
    const registered = await call('POST', `/subjects/${subject}/versions`, {
      schema: JSON.stringify(userV1),
    });
    // Act
    const subjects = await call('GET', '/subjects');
    const versions = await call('GET', `/subjects/${subject}/versions`);
    const version = await call('GET', `/subjects/${subject}/versions/latest`);
    const raw = await call('GET', `/subjects/${subject}/versions/1/schema`);
    const byId = await call('GET', `/schemas/ids/${registered.body.id}`);
    const rawById = await call('GET', `/schemas/ids/${registered.body.id}/schema`);
    const idSubjects = await call('GET', `/schemas/ids/${registered.body.id}/subjects`);
    const idVersions = await call('GET', `/schemas/ids/${registered.body.id}/versions`);
    const lookup = await call(
      'POST',
      `/subjects/${subject}`,
      { schema: JSON.stringify(userV1) },
      'application/json',
    );
    const globalConfig = await call('PUT', '/config', { compatibility: 'FORWARD' });
    const globalRead = await call('GET', '/config');
    await call('PUT', '/config', { compatibility: 'BACKWARD' });
    // Assess
    expect(registered).toMatchObject({ status: 200, type: CONFLUENT_TYPE, body: { id: 1 } });
    expect(subjects.body).toEqual(expect.arrayContaining([subject, 'users-value']));
    expect(versions.body).toEqual([1]);
    expect(version.body).toEqual({ subject, version: 1, id: 1, schema: JSON.stringify(userV1) });
    expect(raw.body).toEqual(userV1);
    expect(byId.body).toEqual({ schema: JSON.stringify(userV1) });
    expect(rawById.body).toEqual(userV1);
    expect(idSubjects.body).toEqual(expect.arrayContaining([subject, 'users-value']));
    expect(idVersions.body).toEqual(expect.arrayContaining([{ subject, version: 1 }]));
    expect(lookup.body).toMatchObject({ subject, version: 1, id: 1 });
    expect(globalConfig.body).toEqual({ compatibility: 'FORWARD' });
    expect(globalRead.body).toEqual({ compatibilityLevel: 'FORWARD' });
  });

  it('deletes softly, then permanently, with Confluent semantics', async () => {
    // Prepare
    const subject = 'doomed-value';
    await call('POST', `/subjects/${subject}/versions`, { schema: JSON.stringify(userV1) });
    await call('POST', `/subjects/${subject}/versions`, { schema: JSON.stringify(userV2) });
    // Act + Assess
    expect((await call('DELETE', `/subjects/${subject}?permanent=true`)).body.error_code).toBe(40405);
    expect((await call('DELETE', `/subjects/${subject}/versions/2`)).body).toBe(2);
    expect((await call('GET', `/subjects/${subject}/versions`)).body).toEqual([1]);
    expect((await call('GET', `/subjects/${subject}/versions?deleted=true`)).body).toEqual([1, 2]);
    expect((await call('DELETE', `/subjects/${subject}`)).body).toEqual([1]);
    expect((await call('GET', '/subjects')).body).not.toContain(subject);
    expect((await call('GET', '/subjects?deleted=true')).body).toContain(subject);
    expect((await call('DELETE', `/subjects/${subject}?permanent=true`)).body).toEqual([1, 2]);
    expect((await call('GET', '/subjects?deleted=true')).body).not.toContain(subject);
    expect((await call('GET', `/subjects/${subject}/versions`)).body.error_code).toBe(40401);
  });

  it('answers errors as {"error_code","message"} with the matching status', async () => {
    // Prepare
    const registry = new SchemaRegistry({ host: base });
    await call('POST', '/subjects/errors-value/versions', { schema: JSON.stringify(userV1) });
    // Act
    const cases = {
      subject: await call('GET', '/subjects/nobody/versions/latest'),
      version: await call('GET', '/subjects/errors-value/versions/9'),
      schema: await call('GET', '/schemas/ids/999'),
      invalidSchema: await call('POST', '/subjects/errors-value/versions', { schema: '{"type":"recrod"}' }),
      protobuf: await call('POST', '/subjects/errors-value/versions', {
        schema: 'syntax = "proto3";',
        schemaType: 'PROTOBUF',
      }),
      invalidVersion: await call('GET', '/subjects/errors-value/versions/first'),
      invalidLevel: await call('PUT', '/config', { compatibility: 'SIDEWAYS' }),
      unknownRoute: await call('GET', '/mode'),
      noContentType: await call('POST', '/subjects/errors-value/versions', undefined),
      malformed: await call('POST', '/subjects/errors-value/versions', '{"schema":', CONFLUENT_TYPE, true),
      wrongType: await call('POST', '/subjects/errors-value/versions', { schema: '"int"' }, 'text/plain'),
    };
    const clientError = await rejection(registry.getLatestSchemaId('nobody'));
    // Assess
    const shapes = Object.fromEntries(
      Object.entries(cases).map(([name, r]) => [name, [r.status, r.body.error_code, r.type]]),
    );
    expect(shapes).toEqual({
      subject: [404, 40401, CONFLUENT_TYPE],
      version: [404, 40402, CONFLUENT_TYPE],
      schema: [404, 40403, CONFLUENT_TYPE],
      invalidSchema: [422, 42201, CONFLUENT_TYPE],
      protobuf: [422, 42201, CONFLUENT_TYPE],
      invalidVersion: [422, 42202, CONFLUENT_TYPE],
      invalidLevel: [422, 42203, CONFLUENT_TYPE],
      unknownRoute: [404, 404, CONFLUENT_TYPE],
      noContentType: [415, 415, CONFLUENT_TYPE],
      malformed: [400, 400, CONFLUENT_TYPE],
      wrongType: [415, 415, CONFLUENT_TYPE],
    });
    for (const r of Object.values(cases)) {
      expect(Object.keys(r.body).sort()).toEqual(['error_code', 'message']);
      expect(typeof r.body.message).toBe('string');
    }
    expect(cases.subject.body.message).toBe("Subject 'nobody' not found.");
    expect(clientError.status).toBe(404);
    expect(clientError.message).toMatch(/Subject 'nobody' not found/);
  });

  it('shares the wire format with the Streambed SDK in both directions', async () => {
    // Prepare
    const confluent = new SchemaRegistry({ host: base });
    const client = new SchemaRegistryClient({ url: server.url });
    const serde = avroSerde<Record<string, unknown>>({
      registry: client,
      subject: 'interop-value',
      schema: userV2,
    });
    const { id } = await confluent.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(userV1) },
      { subject: 'interop-value' },
    );
    // Act
    const fromConfluent = await serde.deserialize(await confluent.encode(id, { id: 3, name: 'Linus' }));
    const fromSdk = await serde.serialize({ id: 4, name: 'Barbara', email: null });
    const decodedBySdk = await confluent.decode(Buffer.from(fromSdk as Uint8Array));
    // Assess
    expect({ ...fromConfluent }).toEqual({ id: 3, name: 'Linus' });
    expect({ ...decodedBySdk }).toEqual({ id: 4, name: 'Barbara', email: null });
    expect(Buffer.from(fromSdk as Uint8Array).readUInt32BE(1)).toBe(
      await confluent.getLatestSchemaId('interop-value'),
    );
    // SDK errors carry the registry's code.
    const missing = await client.version('nobody').catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(StreambedError);
    expect(missing).toMatchObject({ code: 'SUBJECT_NOT_FOUND', status: 404, details: { errorCode: 40401 } });
  });
});
