/**
 * The HTTP API end to end, over a real local server, on the embedded backend (SQLite + files) and on
 * the AWS adapters (DynamoDB Local + s3rver). Same tests, both backends.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CountingMetaStore, CountingObjectStore } from '../../lambdas/adapters/counting-stores.ts';
import type { DynamoMetaStore } from '../../lambdas/adapters/dynamo-meta-store.ts';
import type { S3ObjectStore } from '../../lambdas/adapters/s3-object-store.ts';
import { type Backend, createEmbeddedBackend } from '../../lambdas/runtime/backends.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { dynamoOn, s3On } from '../support/aws-targets.ts';
import { KAFKA_MURMUR2_VECTORS } from '../support/kafka-vectors.ts';

/** Opens storage on the same underlying data every time it is called (a restart reopens it). */
type Opener = () => Promise<Backend>;

function embedded(): Opener {
  const dataDir = mkdtempSync(join(tmpdir(), 'streambed-http-'));
  return async () => createEmbeddedBackend({ dataDir });
}

function awsEmulators(): Opener {
  let first: { meta: DynamoMetaStore; objects: S3ObjectStore } | undefined;
  return async () => {
    first ??= {
      meta: await dynamoOn({
        endpoint: inject('dynamoEndpoint'),
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      }),
      objects: await s3On({
        endpoint: inject('s3Endpoint'),
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      }),
    };
    // Stateless adapters: a "restart" is simply new server on the same table and bucket.
    return { meta: first.meta, objects: first.objects, close: async () => {} };
  };
}

const backends: [string, () => Opener][] = [
  ['the embedded backend (SqliteMetaStore + FsObjectStore)', embedded],
  ['the AWS adapters (DynamoMetaStore on DynamoDB Local + S3ObjectStore on s3rver)', awsEmulators],
];

interface Json {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string; retriable: boolean } };
}

describe.each(backends)('HTTP API on %s', (_name, makeOpener) => {
  const open = makeOpener();
  let server: LocalServer;
  let meta: CountingMetaStore;
  let objects: CountingObjectStore;

  async function boot() {
    const backend = await open();
    meta = new CountingMetaStore(backend.meta);
    objects = new CountingObjectStore(backend.objects);
    server = await startLocalServer({ port: 0, storage: { meta, objects, close: () => backend.close() } });
  }

  async function call(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Json> {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? {} : JSON.parse(text) };
  }

  const topic = () => `t-${randomUUID().slice(0, 8)}`;
  const produce = (name: string, records: unknown[], headers?: Record<string, string>) =>
    call('POST', `/v1/topics/${name}/records`, { records }, headers);
  const fetchRecords = (name: string, partition: number, query: string) =>
    call('GET', `/v1/topics/${name}/partitions/${partition}/records?${query}`);

  beforeAll(boot);
  afterAll(async () => server.close());

  it("places keyed records on the partitions Kafka's default partitioner picks", async () => {
    // Prepare: murmur2 values of these keys from Apache Kafka's own UtilsTest
    const name = topic();
    await call('POST', '/v1/topics', { name, partitions: 7 });
    const kafkaMurmur2 = KAFKA_MURMUR2_VECTORS;
    // Act
    const { body } = await produce(
      name,
      kafkaMurmur2.map(([key]) => ({ key, value: key })),
    );
    // Assess
    const partitions = (body.offsets as { partition: number }[]).map((o) => o.partition);
    expect(partitions).toEqual(kafkaMurmur2.map(([, hash]) => (hash & 0x7fffffff) % 7));
  });

  it('gives 8 concurrent producers on one partition contiguous offsets, each record read once at its acked offset', async () => {
    // Prepare
    const name = topic();
    await call('POST', '/v1/topics', { name, partitions: 1 });
    // Act
    const acked = new Map<number, string>();
    await Promise.all(
      Array.from({ length: 8 }, async (_, producer) => {
        for (let i = 0; i < 6; i++) {
          const values = [`p${producer}-${i}-a`, `p${producer}-${i}-b`, `p${producer}-${i}-c`];
          const { status, body } = await produce(
            name,
            values.map((value) => ({ value })),
          );
          expect(status).toBe(200);
          for (const [j, o] of (body.offsets as { offset: number }[]).entries())
            acked.set(o.offset, values[j]!);
        }
      }),
    );
    // Assess
    expect([...acked.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 144 }, (_, i) => i));
    const read: [number, string][] = [];
    for (let offset = 0; offset < 144; ) {
      const { body } = await fetchRecords(name, 0, `offset=${offset}&max_bytes=2000`);
      for (const r of body.records as { offset: number; value: string }[]) read.push([r.offset, r.value]);
      offset = body.nextOffset as number;
    }
    expect(read).toEqual([...acked.entries()].sort(([a], [b]) => a - b));
  });

  it('writes one object and one two-item commit per partition, and nothing for an idempotent retry', async () => {
    // Prepare
    const name = topic();
    await call('POST', '/v1/topics', { name, partitions: 4 });
    const records = [0, 1, 2, 3, 0].map((partition, i) => ({ value: `v${i}`, partition }));
    objects.reset();
    meta.reset();
    // Act
    const first = await produce(name, records, { 'Idempotency-Key': 'same-request' });
    const puts = objects.counts.puts;
    const transactions = [...meta.counts.transactSizes];
    const retry = await produce(name, records, { 'Idempotency-Key': 'same-request' });
    // Assess
    expect(first.status).toBe(200);
    expect(puts).toBe(1);
    expect(transactions).toEqual([2, 2, 2, 2]);
    expect(retry.body).toEqual(first.body);
    expect(objects.counts.puts).toBe(1);
    expect(meta.counts.transactSizes).toEqual([2, 2, 2, 2]);
    const described = await call('GET', `/v1/topics/${name}`);
    expect((described.body.partitions as { highWatermark: number }[]).map((p) => p.highWatermark)).toEqual([
      2, 1, 1, 1,
    ]);
  });

  it('long-polls and returns early when a record arrives', async () => {
    const name = topic();
    await call('POST', '/v1/topics', { name, partitions: 1 });
    const started = Date.now();
    const polling = fetchRecords(name, 0, 'offset=0&max_wait_ms=15000');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await produce(name, [{ value: 'wake up' }]);
    const { body } = await polling;
    expect((body.records as { value: string }[]).map((r) => r.value)).toEqual(['wake up']);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('answers 416 OFFSET_OUT_OF_RANGE with the valid range', async () => {
    const name = topic();
    await call('POST', '/v1/topics', { name, partitions: 1 });
    await produce(name, [{ value: 'a' }, { value: 'b' }]);
    const { status, body } = await fetchRecords(name, 0, 'offset=5');
    expect(status).toBe(416);
    expect(body.error).toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
      retriable: false,
      logStartOffset: 0,
      highWatermark: 2,
    });
  });

  it('keeps every record across a restart', async () => {
    // Prepare
    const name = topic();
    await call('POST', '/v1/topics', { name, partitions: 2 });
    const { body: produced } = await produce(name, [
      { key: 'k1', value: 'one', headers: { h: 'x' } },
      {
        keyBase64: Buffer.from([0xff, 0x00]).toString('base64'),
        valueBase64: Buffer.from([1, 2, 3]).toString('base64'),
      },
    ]);
    // Act
    await server.close();
    await boot();
    // Assess
    for (const [i, o] of (produced.offsets as { partition: number; offset: number }[]).entries()) {
      const { body } = await fetchRecords(name, o.partition, `offset=${o.offset}&encoding=base64`);
      const first = (body.records as Record<string, unknown>[])[0]!;
      expect(first.offset).toBe(o.offset);
      expect(first.valueBase64).toBe(i === 0 ? Buffer.from('one').toString('base64') : 'AQID');
    }
    expect((await call('GET', '/v1/topics')).body.topics).toContain(name);
  });

  it('refuses 30+ kinds of bad input with the right status and code, changing nothing', async () => {
    // Prepare
    const name = topic();
    await call('POST', '/v1/topics', { name, partitions: 2, config: { 'max.message.bytes': 1000 } });
    await produce(name, [{ value: 'seed', partition: 0 }]);
    const before = await call('GET', `/v1/topics/${name}`);
    const topicsBefore = await call('GET', '/v1/topics');
    const records = `/v1/topics/${name}/records`;
    const cases: [string, string, unknown, number, string, Record<string, string>?][] = [
      ['POST', '/v1/topics', '{"name":', 400, 'INVALID_REQUEST'],
      ['POST', '/v1/topics', { name: 'x y', partitions: 1 }, 400, 'INVALID_REQUEST'],
      ['POST', '/v1/topics', { name: '..', partitions: 1 }, 400, 'INVALID_REQUEST'],
      ['POST', '/v1/topics', { name: 'a'.repeat(250), partitions: 1 }, 400, 'INVALID_REQUEST'],
      ['POST', '/v1/topics', { name: 'ok1', partitions: 0 }, 400, 'INVALID_REQUEST'],
      ['POST', '/v1/topics', { name: 'ok1', partitions: '3' }, 400, 'INVALID_REQUEST'],
      ['POST', '/v1/topics', { name: 'ok1', partitions: 100000 }, 400, 'INVALID_REQUEST'],
      [
        'POST',
        '/v1/topics',
        { name: 'ok1', partitions: 1, config: { 'no.such': 1 } },
        400,
        'INVALID_REQUEST',
      ],
      [
        'POST',
        '/v1/topics',
        { name: 'ok1', partitions: 1, config: { 'retention.ms': true } },
        400,
        'INVALID_REQUEST',
      ],
      ['POST', '/v1/topics', { name: 'ok1', partitions: 1, extra: 1 }, 400, 'INVALID_REQUEST'],
      ['POST', '/v1/topics', { name, partitions: 1 }, 409, 'TOPIC_ALREADY_EXISTS'],
      ['PATCH', `/v1/topics/${name}`, { partitions: 1 }, 400, 'INVALID_REQUEST'],
      ['PATCH', `/v1/topics/${name}`, { config: { 'cleanup.policy': 'compact' } }, 400, 'INVALID_REQUEST'],
      ['PATCH', '/v1/topics/missing-topic', { partitions: 9 }, 404, 'TOPIC_NOT_FOUND'],
      ['DELETE', '/v1/topics/missing-topic', undefined, 404, 'TOPIC_NOT_FOUND'],
      ['POST', records, 'not json', 400, 'INVALID_REQUEST'],
      ['POST', records, { records: 'x' }, 400, 'INVALID_REQUEST'],
      ['POST', records, { records: [] }, 400, 'INVALID_REQUEST'],
      ['POST', records, { records: [{ key: 5, value: 'v' }] }, 400, 'INVALID_REQUEST'],
      ['POST', records, { records: [{ key: 'a', keyBase64: 'YQ==' }] }, 400, 'INVALID_REQUEST'],
      ['POST', records, { records: [{ valueBase64: '!!!' }] }, 400, 'INVALID_REQUEST'],
      ['POST', records, { records: [{ value: 'ok' }, { value: 'x'.repeat(1001) }] }, 413, 'RECORD_TOO_LARGE'],
      [
        'POST',
        records,
        { records: [{ value: 'ok' }, { value: 'v', partition: 2 }] },
        404,
        'PARTITION_NOT_FOUND',
      ],
      ['POST', records, { records: [{ value: 'v', partition: -1 }] }, 400, 'INVALID_REQUEST'],
      ['POST', records, { records: [{ value: 'v', timestamp: 'now' }] }, 400, 'INVALID_REQUEST'],
      ['POST', records, { records: [{ value: 'v', headers: { a: 1 } }] }, 400, 'INVALID_REQUEST'],
      ['POST', records, { records: [{ value: 'ok' }, { value: 'v', extra: true }] }, 400, 'INVALID_REQUEST'],
      ['POST', '/v1/topics/missing-topic/records', { records: [{ value: 'v' }] }, 404, 'TOPIC_NOT_FOUND'],
      [
        'POST',
        records,
        { records: [{ value: 'v' }] },
        400,
        'INVALID_REQUEST',
        { 'Idempotency-Key': 'k'.repeat(200) },
      ],
      ['GET', `/v1/topics/${name}/partitions/0/records?offset=-1`, undefined, 400, 'INVALID_REQUEST'],
      ['GET', `/v1/topics/${name}/partitions/0/records?offset=abc`, undefined, 400, 'INVALID_REQUEST'],
      [
        'GET',
        `/v1/topics/${name}/partitions/0/records?offset=99999999999999999999`,
        undefined,
        400,
        'INVALID_REQUEST',
      ],
      ['GET', `/v1/topics/${name}/partitions/0/records?offset=7`, undefined, 416, 'OFFSET_OUT_OF_RANGE'],
      [
        'GET',
        `/v1/topics/${name}/partitions/0/records?offset=0&encoding=hex`,
        undefined,
        400,
        'INVALID_REQUEST',
      ],
      [
        'GET',
        `/v1/topics/${name}/partitions/0/records?offset=0&max_wait_ms=600000`,
        undefined,
        400,
        'INVALID_REQUEST',
      ],
      ['GET', `/v1/topics/${name}/partitions/5/records?offset=0`, undefined, 404, 'PARTITION_NOT_FOUND'],
      ['GET', `/v1/topics/${name}/partitions/x/records?offset=0`, undefined, 400, 'INVALID_REQUEST'],
      ['GET', '/v1/topics/missing-topic/partitions/0/records?offset=0', undefined, 404, 'TOPIC_NOT_FOUND'],
      [
        'GET',
        `/v1/topics/${name}/partitions/0/offsets?timestamp=yesterday`,
        undefined,
        400,
        'INVALID_REQUEST',
      ],
    ];
    // Act + Assess
    for (const [method, path, body, status, code, headers] of cases) {
      const response = await call(method, path, body, headers);
      expect({ method, path, status: response.status, code: response.body.error?.code }).toEqual({
        method,
        path,
        status,
        code,
      });
      expect(response.body.error).toMatchObject({ message: expect.any(String), retriable: false });
    }
    // Nothing changed
    expect(await call('GET', `/v1/topics/${name}`)).toEqual(before);
    expect(await call('GET', '/v1/topics')).toEqual(topicsBefore);
  });
});
