import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BATCHES_CONTENT_TYPE,
  decodeProduceBody,
  encodeProduceBody,
  PRODUCE_CONTENT_TYPE,
  type ProduceRecord,
} from '../../client/wire/binary.ts';
import { DEFAULT_FETCH_MAX_BYTES, MAX_FETCH_MAX_BYTES, MAX_FETCH_WAIT_MS } from '../../client/wire/limits.ts';
import { decodeRecordBatch, encodeRecordBatch, patchBaseOffset } from '../../client/wire/record-batch.ts';
import { ConditionFailedError, StreamError } from '../../lambdas/core/errors.ts';
import type {
  DeleteRecordsResult,
  FetchBatchesResult,
  FetchedRecord,
  FetchRequest,
  FetchResult,
  LogService,
  OffsetsResult,
  PartitionState,
  ProduceRequest,
  ProduceResult,
  TopicConfig,
  TopicDescription,
  TopicDetails,
  TopicService,
} from '../../lambdas/core/log-types.ts';
import { HTTP_STATUS_BY_CODE, jsonResponse } from '../../lambdas/http/errors.ts';
import { lambdaEventSize, lambdaResponseBytes } from '../../lambdas/http/lambda-payload.ts';
import type { RouteDoc } from '../../lambdas/http/openapi.ts';
import { toJsonRecord } from '../../lambdas/http/records-json.ts';
import { createRouter, type RouterOptions } from '../../lambdas/http/router.ts';
import type { HttpRequest, HttpResponse } from '../../lambdas/http/types.ts';

// ---------------------------------------------------------------------------------------------------
// Small Map-based services: enough behaviour to route against, and a record of what the router asked.

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const NOW = 1_700_000_000_000;
/** The API document entry of a route table made up for a test. */
const TEST_ROUTE_DOC: RouteDoc = { operationId: 'test', summary: 'A test route', responses: {}, errors: [] };
const CONFIG: TopicConfig = {
  'retention.ms': -1,
  'retention.bytes': -1,
  'max.message.bytes': 1024 * 1024,
  'cleanup.policy': 'delete',
  'message.timestamp.before.max.ms': Number.MAX_SAFE_INTEGER,
  'message.timestamp.after.max.ms': 3_600_000,
};

class FakeTopics implements TopicService {
  readonly topics = new Map<string, TopicDescription>();

  async createTopic(
    name: string,
    partitions: number,
    config?: Record<string, unknown>,
  ): Promise<TopicDescription> {
    if (this.topics.has(name)) throw new StreamError('TOPIC_ALREADY_EXISTS', `topic ${name} already exists`);
    const topic: TopicDescription = {
      name,
      topicId: `id-${name}`,
      partitions,
      config: { ...CONFIG, ...(config as Partial<TopicConfig>) },
      createdAt: NOW,
    };
    this.topics.set(name, topic);
    return topic;
  }

  async listTopics(): Promise<string[]> {
    return [...this.topics.keys()].sort();
  }

  require(name: string): TopicDescription {
    const topic = this.topics.get(name);
    if (topic === undefined) throw new StreamError('TOPIC_NOT_FOUND', `topic ${name} does not exist`);
    return topic;
  }

  async describeTopic(name: string): Promise<TopicDetails> {
    const topic = this.require(name);
    const partitionStates: PartitionState[] = Array.from({ length: topic.partitions }, (_, partition) => ({
      partition,
      logStartOffset: 0,
      highWatermark: 0,
      batches: 0,
      bytes: 0,
    }));
    return { ...topic, partitionStates };
  }

  async alterTopic(
    name: string,
    change: { config?: Record<string, unknown>; partitions?: number },
  ): Promise<TopicDescription> {
    const topic = this.require(name);
    const altered = {
      ...topic,
      partitions: change.partitions ?? topic.partitions,
      config: { ...topic.config, ...(change.config as Partial<TopicConfig>) },
    };
    this.topics.set(name, altered);
    return altered;
  }

  async deleteTopic(name: string): Promise<void> {
    this.require(name);
    this.topics.delete(name);
  }
}

class FakeLog implements LogService {
  readonly partitions = new Map<string, FetchedRecord[]>();
  produced: ProduceRequest | undefined;
  fetched: FetchRequest | undefined;
  offsetsAsked: { topic: string; partition: number; timestamp: number | undefined } | undefined;
  /** When set, every call throws it. */
  failure: unknown;

  constructor(private readonly topics: FakeTopics) {}

  private log(topic: string, partition: number): FetchedRecord[] {
    const description = this.topics.require(topic);
    if (partition >= description.partitions) {
      throw new StreamError('PARTITION_NOT_FOUND', `topic ${topic} has no partition ${partition}`);
    }
    const key = `${topic}/${partition}`;
    let records = this.partitions.get(key);
    if (records === undefined) {
      records = [];
      this.partitions.set(key, records);
    }
    return records;
  }

  async produce(request: ProduceRequest): Promise<ProduceResult> {
    if (this.failure !== undefined) throw this.failure;
    this.produced = request;
    const offsets = request.records.map((record: ProduceRecord) => {
      const partition = record.partition ?? 0;
      const log = this.log(request.topic, partition);
      const offset = log.length;
      log.push({
        offset,
        timestamp: record.timestamp ?? NOW,
        key: record.key,
        value: record.value,
        headers: record.headers,
      });
      return { partition, offset };
    });
    return { offsets };
  }

  private range(request: FetchRequest): FetchedRecord[] {
    const log = this.log(request.topic, request.partition);
    if (request.offset > log.length) {
      throw new StreamError('OFFSET_OUT_OF_RANGE', `offset ${request.offset} is out of range`, {
        details: { logStartOffset: 0, highWatermark: log.length },
      });
    }
    return log.slice(request.offset);
  }

  async fetch(request: FetchRequest): Promise<FetchResult> {
    if (this.failure !== undefined) throw this.failure;
    this.fetched = request;
    const records = this.range(request);
    const highWatermark = this.log(request.topic, request.partition).length;
    return { records, nextOffset: request.offset + records.length, highWatermark, logStartOffset: 0 };
  }

  async fetchBatches(request: FetchRequest): Promise<FetchBatchesResult> {
    if (this.failure !== undefined) throw this.failure;
    this.fetched = request;
    const records = this.range(request);
    const highWatermark = this.log(request.topic, request.partition).length;
    const batches = records.length === 0 ? new Uint8Array(0) : encodeRecordBatch(records);
    if (records.length > 0) patchBaseOffset(batches, request.offset);
    return {
      batches,
      nextOffset: request.offset + records.length,
      highWatermark,
      logStartOffset: 0,
      release: () => {},
    };
  }

  async offsets(topic: string, partition: number, timestamp?: number): Promise<OffsetsResult> {
    if (this.failure !== undefined) throw this.failure;
    this.offsetsAsked = { topic, partition, timestamp };
    const log = this.log(topic, partition);
    if (timestamp === undefined) return { logStartOffset: 0, highWatermark: log.length };
    const found = log.find((record) => record.timestamp >= timestamp);
    return { logStartOffset: 0, highWatermark: log.length, offset: found?.offset ?? log.length };
  }

  async deleteRecords(): Promise<DeleteRecordsResult> {
    throw new Error('deleting records is tested on the real log (test/http/delete-records.test.ts)');
  }

  async appendBatches(): Promise<never> {
    throw new Error('the HTTP API does not append Kafka batches');
  }

  async initProducerId(): Promise<never> {
    throw new Error('the HTTP API does not hand out Kafka producer ids');
  }
}

// ---------------------------------------------------------------------------------------------------
// Helpers.

interface RequestInit {
  headers?: Record<string, string>;
  body?: Uint8Array | string | object;
}

/** `target` may carry a query string; an object body is sent as JSON with its content type. */
function request(method: string, target: string, init: RequestInit = {}): HttpRequest {
  const queryAt = target.indexOf('?');
  const headers: Record<string, string> = { ...init.headers };
  let body: Uint8Array = new Uint8Array(0);
  if (typeof init.body === 'string') body = utf8(init.body);
  else if (init.body instanceof Uint8Array) body = init.body;
  else if (init.body !== undefined) {
    body = utf8(JSON.stringify(init.body));
    headers['content-type'] ??= 'application/json';
  }
  if (typeof init.body === 'string') headers['content-type'] ??= 'application/json';
  return {
    method,
    path: queryAt === -1 ? target : target.slice(0, queryAt),
    query: new URLSearchParams(queryAt === -1 ? '' : target.slice(queryAt + 1)),
    headers,
    body,
  };
}

function json(response: HttpResponse): Record<string, unknown> {
  const text = typeof response.body === 'string' ? response.body : new TextDecoder().decode(response.body);
  return JSON.parse(text);
}

interface ApiError {
  code: string;
  message: string;
  retriable: boolean;
  [detail: string]: unknown;
}

function errorOf(response: HttpResponse): ApiError {
  return json(response).error as ApiError;
}

interface Setup {
  topics: FakeTopics;
  log: FakeLog;
  internalErrors: unknown[];
  handle: (request: HttpRequest) => Promise<HttpResponse>;
}

async function setup(options: Partial<RouterOptions> = {}): Promise<Setup> {
  const topics = new FakeTopics();
  const log = new FakeLog(topics);
  await topics.createTopic('orders', 3);
  const internalErrors: unknown[] = [];
  const handle = createRouter({
    topics,
    log,
    onInternalError: (error) => internalErrors.push(error),
    ...options,
  });
  return { topics, log, internalErrors, handle };
}

const produceJson = (records: unknown[]) => ({ body: { records } });

// ---------------------------------------------------------------------------------------------------

describe('error table', () => {
  it('maps every API code of DESIGN §8 (and §12) to its status', () => {
    // Prepare
    const expected = {
      INVALID_REQUEST: 400,
      UNAUTHORIZED: 401,
      TOPIC_NOT_FOUND: 404,
      PARTITION_NOT_FOUND: 404,
      OFFSET_OUT_OF_RANGE: 416,
      RECORD_TOO_LARGE: 413,
      TOPIC_ALREADY_EXISTS: 409,
      // Subscriptions (DESIGN §12): an unknown one, and a name already taken.
      SUBSCRIPTION_NOT_FOUND: 404,
      SUBSCRIPTION_ALREADY_EXISTS: 409,
      LEASE_LOST: 409,
      CONFLICT: 409,
      THROTTLED: 429,
      UNAVAILABLE: 503,
      INTERNAL: 500,
    };

    // Act
    const table = { ...HTTP_STATUS_BY_CODE };

    // Assess
    expect(table).toEqual(expected);
  });
});

describe('health', () => {
  it('answers ok without credentials even when auth is configured', async () => {
    // Prepare
    const { handle } = await setup({ auth: () => false });

    // Act
    const response = await handle(request('GET', '/v1/health'));

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(json(response)).toEqual({ status: 'ok' });
  });
});

describe('auth', () => {
  it('answers 401 UNAUTHORIZED when auth refuses, before revealing whether the route exists', async () => {
    // Prepare
    const { handle } = await setup({ auth: async (req) => req.headers.authorization === 'Bearer ok' });

    // Act
    const known = await handle(request('GET', '/v1/topics'));
    const unknown = await handle(request('GET', '/v1/nothing-here'));
    const allowed = await handle(request('GET', '/v1/topics', { headers: { authorization: 'Bearer ok' } }));

    // Assess
    expect(known.status).toBe(401);
    expect(errorOf(known)).toEqual({
      code: 'UNAUTHORIZED',
      message: 'missing or invalid credentials',
      retriable: false,
    });
    expect(known.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(unknown.status).toBe(401);
    expect(allowed.status).toBe(200);
  });
});

describe('topics', () => {
  it('creates a topic: 201, the description, a Location', async () => {
    // Prepare
    const { handle, topics } = await setup();

    // Act
    const response = await handle(
      request('POST', '/v1/topics', {
        body: { name: 'payments', partitions: 4, config: { 'retention.ms': '60000' } },
      }),
    );

    // Assess
    expect(response.status).toBe(201);
    expect(response.headers.location).toBe('/v1/topics/payments');
    expect(json(response)).toEqual({
      name: 'payments',
      partitions: 4,
      config: { ...CONFIG, 'retention.ms': '60000' },
    });
    expect(topics.topics.get('payments')?.partitions).toBe(4);
  });

  it('answers 409 TOPIC_ALREADY_EXISTS for a second create', async () => {
    // Prepare
    const { handle } = await setup();

    // Act
    const response = await handle(request('POST', '/v1/topics', { body: { name: 'orders', partitions: 1 } }));

    // Assess
    expect(response.status).toBe(409);
    expect(errorOf(response).code).toBe('TOPIC_ALREADY_EXISTS');
  });

  it('lists topic names', async () => {
    // Prepare
    const { handle, topics } = await setup();
    await topics.createTopic('audit', 1);

    // Act
    const response = await handle(request('GET', '/v1/topics'));

    // Assess
    expect(json(response)).toEqual({ topics: ['audit', 'orders'] });
  });

  it('describes a topic with one entry per partition', async () => {
    // Prepare
    const { handle } = await setup();

    // Act
    const response = await handle(request('GET', '/v1/topics/orders'));

    // Assess
    expect(response.status).toBe(200);
    expect(json(response)).toEqual({
      name: 'orders',
      config: CONFIG,
      partitions: [0, 1, 2].map((partition) => ({
        partition,
        logStartOffset: 0,
        highWatermark: 0,
        batches: 0,
        bytes: 0,
      })),
    });
  });

  it('percent-decodes path parameters after splitting the path', async () => {
    // Prepare
    const { handle, topics } = await setup();
    await topics.createTopic('a/b c', 1);

    // Act
    const response = await handle(request('GET', '/v1/topics/a%2Fb%20c'));

    // Assess
    expect(response.status).toBe(200);
    expect(json(response).name).toBe('a/b c');
  });

  it('answers 404 TOPIC_NOT_FOUND for an unknown topic', async () => {
    // Prepare
    const { handle } = await setup();

    // Act
    const response = await handle(request('GET', '/v1/topics/nope'));

    // Assess
    expect(response.status).toBe(404);
    expect(errorOf(response)).toEqual({
      code: 'TOPIC_NOT_FOUND',
      message: 'topic nope does not exist',
      retriable: false,
    });
  });

  it('alters config and partitions with PATCH', async () => {
    // Prepare
    const { handle, topics } = await setup();

    // Act
    const response = await handle(
      request('PATCH', '/v1/topics/orders', { body: { partitions: 6, config: { 'retention.bytes': 10 } } }),
    );

    // Assess
    expect(response.status).toBe(200);
    expect(json(response)).toMatchObject({ name: 'orders', partitions: 6 });
    expect(topics.topics.get('orders')?.config['retention.bytes']).toBe(10);
  });

  it('deletes a topic with 204 and no body', async () => {
    // Prepare
    const { handle, topics } = await setup();

    // Act
    const response = await handle(request('DELETE', '/v1/topics/orders'));

    // Assess
    expect(response.status).toBe(204);
    expect(response.body).toBe('');
    expect(topics.topics.has('orders')).toBe(false);
  });
});

describe('produce (JSON)', () => {
  it('converts records into the core shape and answers one offset per record, in order', async () => {
    // Prepare
    const { handle, log } = await setup();

    // Act
    const response = await handle(
      request('POST', '/v1/topics/orders/records', {
        headers: { 'idempotency-key': 'req-42' },
        body: {
          records: [
            { key: 'k1', value: 'héllo', headers: { trace: 'abc', empty: null }, timestamp: 5 },
            { value: { a: [1, true] }, partition: 2 },
            { keyBase64: '/wA=', valueBase64: 'AAEC' },
            { value: null },
            {},
            { value: 42 },
            { value: '' },
          ],
        },
      }),
    );

    // Assess
    expect(response.status).toBe(200);
    expect(json(response)).toEqual({
      offsets: [
        { partition: 0, offset: 0 },
        { partition: 2, offset: 0 },
        { partition: 0, offset: 1 },
        { partition: 0, offset: 2 },
        { partition: 0, offset: 3 },
        { partition: 0, offset: 4 },
        { partition: 0, offset: 5 },
      ],
    });
    const produced = log.produced!;
    expect(produced.topic).toBe('orders');
    expect(produced.idempotencyKey).toBe('req-42');
    const [first, second, third, tombstone, empty, number, emptyString] = produced.records;
    expect(first).toEqual({
      key: utf8('k1'),
      value: utf8('héllo'),
      headers: [
        { key: 'trace', value: utf8('abc') },
        { key: 'empty', value: null },
      ],
      timestamp: 5,
    });
    expect(second).toEqual({ key: null, value: utf8('{"a":[1,true]}'), headers: [], partition: 2 });
    expect(third).toEqual({ key: new Uint8Array([0xff, 0]), value: new Uint8Array([0, 1, 2]), headers: [] });
    expect(tombstone?.value).toBeNull();
    expect(empty).toEqual({ key: null, value: null, headers: [] });
    expect(number?.value).toEqual(utf8('42'));
    expect(emptyString).toEqual({ key: null, value: new Uint8Array(0), headers: [] });
  });

  it('passes no idempotency key when the header is absent and accepts one of 128 characters', async () => {
    // Prepare
    const { handle, log } = await setup();
    const longest = 'k'.repeat(128);

    // Act
    await handle(request('POST', '/v1/topics/orders/records', produceJson([{ value: 'a' }])));
    const withoutKey = log.produced;
    const response = await handle(
      request('POST', '/v1/topics/orders/records', {
        headers: { 'idempotency-key': longest },
        ...produceJson([{ value: 'a' }]),
      }),
    );

    // Assess
    expect(withoutKey?.idempotencyKey).toBeUndefined();
    expect(response.status).toBe(200);
    expect(log.produced?.idempotencyKey).toBe(longest);
  });

  it('accepts application/json with a UTF-8 charset', async () => {
    // Prepare
    const { handle } = await setup();

    // Act
    const response = await handle(
      request('POST', '/v1/topics/orders/records', {
        headers: { 'content-type': 'Application/JSON; charset="UTF-8"' },
        body: JSON.stringify({ records: [{ value: 'x' }] }),
      }),
    );

    // Assess
    expect(response.status).toBe(200);
  });

  it('reads an ASCII body, a UTF-8 one and one led by a byte order mark alike', async () => {
    // Prepare: the same records, once with \u escapes only (ASCII), once as UTF-8, once with a BOM.
    const { handle, log } = await setup();
    const ascii =
      '{"records":[{"key":"k\\u00e9","value":"v\\u00e9 \\ud83d\\ude00","headers":{"h":"\\u00e9"}}]}';
    const text = JSON.stringify(JSON.parse(ascii));
    const produced = [];

    // Act
    for (const body of [utf8(ascii), utf8(text), new Uint8Array([0xef, 0xbb, 0xbf, ...utf8(text)])]) {
      const response = await handle(
        request('POST', RECORDS, { headers: { 'content-type': 'application/json' }, body }),
      );
      expect(response.status).toBe(200);
      produced.push(structuredClone(log.produced?.records));
    }

    // Assess
    const expected = [{ key: utf8('ké'), value: utf8('vé 😀'), headers: [{ key: 'h', value: utf8('é') }] }];
    expect(produced).toEqual([expected, expected, expected]);
  });

  it('keeps a header named __proto__ as an ordinary header', async () => {
    // Prepare
    const { handle, log } = await setup();

    // Act
    const response = await handle(
      request('POST', '/v1/topics/orders/records', { body: '{"records":[{"headers":{"__proto__":"x"}}]}' }),
    );

    // Assess
    expect(response.status).toBe(200);
    expect(log.produced?.records[0]?.headers).toEqual([{ key: '__proto__', value: utf8('x') }]);
  });
});

describe('produce (binary)', () => {
  it('decodes the binary form and answers offsets as JSON', async () => {
    // Prepare
    const { handle, log } = await setup();
    const records: ProduceRecord[] = [
      {
        key: utf8('k'),
        value: new Uint8Array([0xff, 0xfe]),
        headers: [
          { key: 'h', value: utf8('1') },
          { key: 'h', value: null },
        ],
        partition: 1,
        timestamp: 99,
      },
      { key: null, value: null, headers: [] },
    ];

    // Act
    const response = await handle(
      request('POST', '/v1/topics/orders/records', {
        headers: { 'content-type': PRODUCE_CONTENT_TYPE },
        body: encodeProduceBody(records),
      }),
    );

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(json(response)).toEqual({
      offsets: [
        { partition: 1, offset: 0 },
        { partition: 0, offset: 0 },
      ],
    });
    expect(log.produced?.records).toEqual(records);
  });

  it('round-trips any records through encodeProduceBody and decodeProduceBody', () => {
    // Prepare
    const bytes = fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null });
    const record = fc.record(
      {
        key: bytes,
        value: bytes,
        headers: fc.array(fc.record({ key: fc.string({ unit: 'grapheme', maxLength: 8 }), value: bytes }), {
          maxLength: 4,
        }),
        partition: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        timestamp: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
      },
      { requiredKeys: ['key', 'value', 'headers'] },
    );

    // Act + Assess
    fc.assert(
      fc.property(fc.array(record, { minLength: 1, maxLength: 5 }), (records) => {
        expect(decodeProduceBody(encodeProduceBody(records))).toEqual(records);
      }),
    );
  });
});

describe('fetch', () => {
  async function withRecords(records: Omit<ProduceRecord, 'partition'>[]): Promise<Setup> {
    const context = await setup();
    await context.log.produce({ topic: 'orders', records: records.map((r) => ({ ...r, partition: 1 })) });
    return context;
  }

  it('returns records as UTF-8 text by default, base64 for bytes that are not UTF-8', async () => {
    // Prepare
    const { handle } = await withRecords([
      { key: utf8('k'), value: utf8('v'), headers: [{ key: 'trace', value: utf8('abc') }], timestamp: 7 },
      {
        key: null,
        value: new Uint8Array([0xc3, 0x28]),
        headers: [
          { key: 'bin', value: new Uint8Array([0xff]) },
          { key: 'nil', value: null },
        ],
        timestamp: 8,
      },
    ]);

    // Act
    const response = await handle(request('GET', '/v1/topics/orders/partitions/1/records?offset=0'));

    // Assess
    expect(response.status).toBe(200);
    expect(json(response)).toEqual({
      records: [
        { offset: 0, timestamp: 7, key: 'k', value: 'v', headers: { trace: 'abc' } },
        {
          offset: 1,
          timestamp: 8,
          key: null,
          valueBase64: 'wyg=',
          headers: { nil: null },
          headersBase64: { bin: '/w==' },
        },
      ],
      nextOffset: 2,
      highWatermark: 2,
      logStartOffset: 0,
    });
  });

  it('returns base64 for every non-null key, value and header value with encoding=base64', async () => {
    // Prepare
    const { handle } = await withRecords([
      { key: utf8('k'), value: null, headers: [{ key: 'trace', value: utf8('abc') }], timestamp: 7 },
    ]);

    // Act
    const response = await handle(
      request('GET', '/v1/topics/orders/partitions/1/records?offset=0&encoding=base64'),
    );

    // Assess
    expect(json(response).records).toEqual([
      {
        offset: 0,
        timestamp: 7,
        keyBase64: 'aw==',
        value: null,
        headers: {},
        headersBase64: { trace: 'YWJj' },
      },
    ]);
  });

  it('passes the defaults to the log: max_bytes 1 MiB, no wait', async () => {
    // Prepare
    const { handle, log } = await setup();

    // Act
    await handle(request('GET', '/v1/topics/orders/partitions/0/records?offset=0'));

    // Assess
    expect(log.fetched).toEqual({
      topic: 'orders',
      partition: 0,
      offset: 0,
      maxBytes: DEFAULT_FETCH_MAX_BYTES,
      maxWaitMs: 0,
    });
  });

  it('clamps max_bytes to the largest fetch and passes max_wait_ms up to its limit', async () => {
    // Prepare
    const { handle, log } = await setup();

    // Act
    const response = await handle(
      request(
        'GET',
        `/v1/topics/orders/partitions/0/records?offset=0&max_bytes=${'9'.repeat(400)}&max_wait_ms=${MAX_FETCH_WAIT_MS}`,
      ),
    );

    // Assess
    expect(response.status).toBe(200);
    expect(log.fetched).toMatchObject({ maxBytes: MAX_FETCH_MAX_BYTES, maxWaitMs: MAX_FETCH_WAIT_MS });
  });

  it('answers 416 OFFSET_OUT_OF_RANGE with the valid range inside the error', async () => {
    // Prepare
    const { handle } = await withRecords([{ key: null, value: null, headers: [], timestamp: 1 }]);

    // Act
    const response = await handle(request('GET', '/v1/topics/orders/partitions/1/records?offset=5'));

    // Assess
    expect(response.status).toBe(416);
    expect(errorOf(response)).toEqual({
      code: 'OFFSET_OUT_OF_RANGE',
      message: 'offset 5 is out of range',
      retriable: false,
      logStartOffset: 0,
      highWatermark: 1,
    });
  });

  it('answers 404 PARTITION_NOT_FOUND for a partition the topic does not have', async () => {
    // Prepare
    const { handle } = await setup();

    // Act
    const response = await handle(request('GET', '/v1/topics/orders/partitions/3/records?offset=0'));

    // Assess
    expect(response.status).toBe(404);
    expect(errorOf(response).code).toBe('PARTITION_NOT_FOUND');
  });

  it('serves record batches with offsets in headers when asked for the binary form', async () => {
    // Prepare
    const { handle } = await withRecords([
      { key: utf8('a'), value: utf8('1'), headers: [], timestamp: 10 },
      { key: utf8('b'), value: utf8('2'), headers: [], timestamp: 11 },
    ]);

    // Act
    const response = await handle(
      request('GET', '/v1/topics/orders/partitions/1/records?offset=1', {
        headers: { accept: `application/json;q=0.5, ${BATCHES_CONTENT_TYPE}` },
      }),
    );

    // Assess
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe(BATCHES_CONTENT_TYPE);
    expect(response.headers['streambed-next-offset']).toBe('2');
    expect(response.headers['streambed-high-watermark']).toBe('2');
    expect(response.headers['streambed-log-start-offset']).toBe('0');
    const batch = decodeRecordBatch(response.body as Uint8Array);
    expect(batch.records.map((record) => [record.offset, record.value])).toEqual([[1, utf8('2')]]);
  });
});

describe('offsets', () => {
  it('answers the range, and the offset for a timestamp when one is given', async () => {
    // Prepare
    const { handle, log } = await setup();
    await log.produce({
      topic: 'orders',
      records: [10, 20, 30].map((timestamp) => ({ key: null, value: null, headers: [], timestamp })),
    });

    // Act
    const range = await handle(request('GET', '/v1/topics/orders/partitions/0/offsets'));
    const byTime = await handle(request('GET', '/v1/topics/orders/partitions/0/offsets?timestamp=15'));

    // Assess
    expect(json(range)).toEqual({ logStartOffset: 0, highWatermark: 3 });
    expect(json(byTime)).toEqual({ logStartOffset: 0, highWatermark: 3, offset: 1 });
    expect(log.offsetsAsked).toEqual({ topic: 'orders', partition: 0, timestamp: 15 });
  });
});

describe('errors from the services', () => {
  it('hides internal errors behind a generic 500 and reports them to onInternalError', async () => {
    // Prepare
    const { handle, log, internalErrors } = await setup();
    const secret = new TypeError('cannot read properties of undefined (table streambed-prod-meta)');
    log.failure = secret;

    // Act
    const response = await handle(
      request('POST', '/v1/topics/orders/records', produceJson([{ value: 'a' }])),
    );

    // Assess
    expect(response.status).toBe(500);
    expect(json(response)).toEqual({
      error: { code: 'INTERNAL', message: 'internal error', retriable: false },
    });
    const text = String(response.body);
    expect(text).not.toMatch(/streambed-prod-meta|TypeError|at .*\.ts/);
    expect(internalErrors).toEqual([secret]);
  });

  it.each([
    ['NOT_FOUND', 'object data/ab/01H.sbo missing in bucket prod-data'],
    ['CORRUPT_DATA', 'crc mismatch in data/ab/01H.sbo'],
    ['INVALID_ARGUMENT', 'item too large for table prod-meta'],
    ['INTERNAL', 'sqlite: database is locked at /var/data'],
  ] as const)('answers storage code %s as INTERNAL without its message', async (code, message) => {
    // Prepare
    const { handle, log } = await setup();
    log.failure = new StreamError(code, message, { details: { bucket: 'prod-data' } });

    // Act
    const response = await handle(request('GET', '/v1/topics/orders/partitions/0/records?offset=0'));

    // Assess
    expect(response.status).toBe(500);
    expect(errorOf(response)).toEqual({ code: 'INTERNAL', message: 'internal error', retriable: false });
  });

  it.each([
    ['THROTTLED', 429],
    ['UNAVAILABLE', 503],
  ] as const)('answers %s with %i, retriable, and a Retry-After', async (code, status) => {
    // Prepare
    const { handle, log } = await setup();
    log.failure = new StreamError(code, 'slow down', { details: { retryAfterMs: 2500 } });

    // Act
    const response = await handle(request('GET', '/v1/topics/orders/partitions/0/offsets'));

    // Assess
    expect(response.status).toBe(status);
    expect(response.headers['retry-after']).toBe('3');
    expect(errorOf(response)).toMatchObject({ code, retriable: true });
  });

  it('answers a metadata conflict as 409 CONFLICT, retriable, without transaction wording', async () => {
    // Prepare
    const { handle, log } = await setup();
    log.failure = new ConditionFailedError([0, 1]);

    // Act
    const response = await handle(
      request('POST', '/v1/topics/orders/records', produceJson([{ value: 'a' }])),
    );

    // Assess
    expect(response.status).toBe(409);
    expect(errorOf(response)).toEqual({
      code: 'CONFLICT',
      message: 'concurrent update; retry the request',
      retriable: true,
    });
  });

  it('keeps code, message and retriable when details try to override them', async () => {
    // Prepare
    const { handle, log } = await setup();
    log.failure = new StreamError('UNAVAILABLE', 'partial', {
      details: { code: 'INTERNAL', retriable: false, offsets: [{ partition: 0, offset: 3 }] },
    });

    // Act
    const response = await handle(
      request('POST', '/v1/topics/orders/records', produceJson([{ value: 'a' }])),
    );

    // Assess
    expect(errorOf(response)).toEqual({
      code: 'UNAVAILABLE',
      message: 'partial',
      retriable: true,
      offsets: [{ partition: 0, offset: 3 }],
    });
  });
});

// Every bad input the edge owns: [name, request, status, code, message fragment].
type BadCase = [string, HttpRequest, number, string, string | RegExp];

const RECORDS = '/v1/topics/orders/records';
const FETCH = '/v1/topics/orders/partitions/0/records';
const produceBad = (records: unknown[]) => request('POST', RECORDS, produceJson(records));
const binary = (bytes: number[]) =>
  request('POST', RECORDS, {
    headers: { 'content-type': PRODUCE_CONTENT_TYPE },
    body: new Uint8Array(bytes),
  });
const int32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const int64 = (n: number) => (n < 0 ? [255, 255, 255, 255, ...int32(n)] : [0, 0, 0, 0, ...int32(n)]);
/** A valid record header of the binary form up to (not including) the header count. */
const binaryRecordStart = [...int32(-1), ...int64(-1), ...int32(-1), ...int32(-1)];

const BAD_INPUTS: BadCase[] = [
  // JSON bodies
  [
    'malformed JSON',
    request('POST', RECORDS, { body: '{"records":[' }),
    400,
    'INVALID_REQUEST',
    'malformed JSON',
  ],
  ['empty body', request('POST', RECORDS, { body: '' }), 400, 'INVALID_REQUEST', 'request body is empty'],
  [
    'invalid UTF-8 in a JSON body',
    request('POST', RECORDS, {
      headers: { 'content-type': 'application/json' },
      body: new Uint8Array([0x7b, 0xff]),
    }),
    400,
    'INVALID_REQUEST',
    'not valid UTF-8',
  ],
  [
    'body is an array',
    request('POST', RECORDS, { body: [] }),
    400,
    'INVALID_REQUEST',
    'body: must be a JSON object',
  ],
  ['records missing', request('POST', RECORDS, { body: {} }), 400, 'INVALID_REQUEST', 'records: is required'],
  [
    'records not an array',
    request('POST', RECORDS, { body: { records: {} } }),
    400,
    'INVALID_REQUEST',
    'records: must be an array',
  ],
  ['no records', produceBad([]), 400, 'INVALID_REQUEST', 'records: must hold at least one record'],
  ['key as number', produceBad([{ key: 12 }]), 400, 'INVALID_REQUEST', 'records[0].key: must be a string'],
  // DESIGN §8: a key is a string or absent; null is "any other type".
  ['key as null', produceBad([{ key: null }]), 400, 'INVALID_REQUEST', 'records[0].key: must be a string'],
  [
    'key as object',
    produceBad([{}, { key: { a: 1 } }]),
    400,
    'INVALID_REQUEST',
    'records[1].key: must be a string',
  ],
  [
    'key and keyBase64',
    produceBad([{ key: 'a', keyBase64: 'YQ==' }]),
    400,
    'INVALID_REQUEST',
    'records[0].keyBase64: give either key or keyBase64, not both',
  ],
  [
    'value and valueBase64',
    produceBad([{ value: null, valueBase64: 'YQ==' }]),
    400,
    'INVALID_REQUEST',
    'records[0].valueBase64: give either value or valueBase64, not both',
  ],
  [
    'invalid base64 characters',
    produceBad([{}, {}, {}, { keyBase64: 'ab$c' }]),
    400,
    'INVALID_REQUEST',
    'records[3].keyBase64: invalid base64',
  ],
  [
    'base64 without padding',
    produceBad([{ valueBase64: 'QQ' }]),
    400,
    'INVALID_REQUEST',
    'records[0].valueBase64: invalid base64',
  ],
  [
    'URL-safe base64',
    produceBad([{ valueBase64: '_w==' }]),
    400,
    'INVALID_REQUEST',
    'records[0].valueBase64: invalid base64',
  ],
  [
    'base64 with whitespace',
    produceBad([{ valueBase64: 'QUJD RA==' }]),
    400,
    'INVALID_REQUEST',
    'invalid base64',
  ],
  ['non-canonical base64', produceBad([{ valueBase64: 'QR==' }]), 400, 'INVALID_REQUEST', 'invalid base64'],
  [
    'base64 as number',
    produceBad([{ valueBase64: 5 }]),
    400,
    'INVALID_REQUEST',
    'records[0].valueBase64: must be a base64 string',
  ],
  [
    'unknown top-level field',
    request('POST', RECORDS, { body: { records: [{}], acks: 'all' } }),
    400,
    'INVALID_REQUEST',
    'body: unknown field "acks"',
  ],
  [
    'unknown record field',
    produceBad([{ vaule: 'x' }]),
    400,
    'INVALID_REQUEST',
    'records[0]: unknown field "vaule"',
  ],
  [
    'header value as number',
    produceBad([{ headers: { trace: 1 } }]),
    400,
    'INVALID_REQUEST',
    'records[0].headers.trace: must be a string or null',
  ],
  [
    'headers as array',
    produceBad([{ headers: ['a'] }]),
    400,
    'INVALID_REQUEST',
    'records[0].headers: must be an object',
  ],
  [
    'negative partition',
    produceBad([{ partition: -1 }]),
    400,
    'INVALID_REQUEST',
    'records[0].partition: must not be negative',
  ],
  [
    'fractional partition',
    produceBad([{ partition: 1.5 }]),
    400,
    'INVALID_REQUEST',
    'records[0].partition: must be an integer',
  ],
  [
    'timestamp as string',
    produceBad([{ timestamp: '5' }]),
    400,
    'INVALID_REQUEST',
    'records[0].timestamp: must be an integer',
  ],
  [
    'negative timestamp',
    produceBad([{ timestamp: -5 }]),
    400,
    'INVALID_REQUEST',
    'records[0].timestamp: must not be negative',
  ],
  [
    'unsafe timestamp',
    produceBad([{ timestamp: 2 ** 60 }]),
    400,
    'INVALID_REQUEST',
    'records[0].timestamp: must be an integer',
  ],
  [
    'lone surrogate in key',
    request('POST', RECORDS, { body: '{"records":[{"key":"\\ud800"}]}' }),
    400,
    'INVALID_REQUEST',
    'records[0].key: must be well-formed Unicode',
  ],
  [
    'lone surrogate in value',
    request('POST', RECORDS, { body: '{"records":[{"value":"a\\udc00"}]}' }),
    400,
    'INVALID_REQUEST',
    'records[0].value: must be well-formed Unicode',
  ],
  // topic bodies
  [
    'create: name missing',
    request('POST', '/v1/topics', { body: { partitions: 1 } }),
    400,
    'INVALID_REQUEST',
    'name: is required',
  ],
  [
    'create: partitions as string',
    request('POST', '/v1/topics', { body: { name: 't', partitions: '3' } }),
    400,
    'INVALID_REQUEST',
    'partitions: must be an integer',
  ],
  [
    'create: zero partitions',
    request('POST', '/v1/topics', { body: { name: 't', partitions: 0 } }),
    400,
    'INVALID_REQUEST',
    'partitions: must be at least 1',
  ],
  [
    'create: unknown field',
    request('POST', '/v1/topics', { body: { name: 't', partitions: 1, replication: 3 } }),
    400,
    'INVALID_REQUEST',
    'body: unknown field "replication"',
  ],
  [
    'create: config value as object',
    request('POST', '/v1/topics', { body: { name: 't', partitions: 1, config: { 'retention.ms': {} } } }),
    400,
    'INVALID_REQUEST',
    'config["retention.ms"]: must be a string or a number',
  ],
  [
    'create: malformed JSON',
    request('POST', '/v1/topics', { body: '{"name":' }),
    400,
    'INVALID_REQUEST',
    'malformed JSON',
  ],
  [
    'alter: nothing to change',
    request('PATCH', '/v1/topics/orders', { body: {} }),
    400,
    'INVALID_REQUEST',
    'nothing to change',
  ],
  // fetch query
  [
    'fetch: offset missing',
    request('GET', FETCH),
    400,
    'INVALID_REQUEST',
    'offset: query parameter is required',
  ],
  [
    'fetch: negative offset',
    request('GET', `${FETCH}?offset=-1`),
    400,
    'INVALID_REQUEST',
    'offset: must be a non-negative integer',
  ],
  [
    'fetch: fractional offset',
    request('GET', `${FETCH}?offset=1.5`),
    400,
    'INVALID_REQUEST',
    'offset: must be a non-negative integer',
  ],
  [
    'fetch: exponent offset',
    request('GET', `${FETCH}?offset=1e3`),
    400,
    'INVALID_REQUEST',
    'offset: must be a non-negative integer',
  ],
  [
    'fetch: empty offset',
    request('GET', `${FETCH}?offset=`),
    400,
    'INVALID_REQUEST',
    'offset: must be a non-negative integer',
  ],
  [
    'fetch: huge offset',
    request('GET', `${FETCH}?offset=9007199254740993`),
    400,
    'INVALID_REQUEST',
    'offset: must be at most',
  ],
  [
    'fetch: zero max_bytes',
    request('GET', `${FETCH}?offset=0&max_bytes=0`),
    400,
    'INVALID_REQUEST',
    'max_bytes: must be at least 1',
  ],
  [
    'fetch: max_bytes not a number',
    request('GET', `${FETCH}?offset=0&max_bytes=lots`),
    400,
    'INVALID_REQUEST',
    'max_bytes: must be a non-negative integer',
  ],
  [
    'fetch: max_wait_ms too long',
    request('GET', `${FETCH}?offset=0&max_wait_ms=${MAX_FETCH_WAIT_MS + 1}`),
    400,
    'INVALID_REQUEST',
    `max_wait_ms: must be at most ${MAX_FETCH_WAIT_MS}`,
  ],
  [
    'fetch: negative max_wait_ms',
    request('GET', `${FETCH}?offset=0&max_wait_ms=-1`),
    400,
    'INVALID_REQUEST',
    'max_wait_ms: must be a non-negative integer',
  ],
  [
    'fetch: bad encoding',
    request('GET', `${FETCH}?offset=0&encoding=hex`),
    400,
    'INVALID_REQUEST',
    'encoding: must be one of utf8, base64',
  ],
  [
    'fetch: unknown query parameter',
    request('GET', `${FETCH}?offset=0&max_byte=5`),
    400,
    'INVALID_REQUEST',
    'unknown query parameter "max_byte"',
  ],
  [
    'fetch: repeated offset',
    request('GET', `${FETCH}?offset=0&offset=1`),
    400,
    'INVALID_REQUEST',
    'offset is given more than once',
  ],
  [
    'fetch: partition not a number',
    request('GET', '/v1/topics/orders/partitions/abc/records?offset=0'),
    400,
    'INVALID_REQUEST',
    'partition: must be a non-negative integer',
  ],
  [
    'fetch: negative partition',
    request('GET', '/v1/topics/orders/partitions/-1/records?offset=0'),
    400,
    'INVALID_REQUEST',
    'partition: must be a non-negative integer',
  ],
  [
    'fetch: partition past int32',
    request('GET', '/v1/topics/orders/partitions/2147483648/records?offset=0'),
    400,
    'INVALID_REQUEST',
    'partition: must be at most 2147483647',
  ],
  [
    'offsets: negative timestamp',
    request('GET', '/v1/topics/orders/partitions/0/offsets?timestamp=-5'),
    400,
    'INVALID_REQUEST',
    'timestamp: must be a non-negative integer',
  ],
  [
    'offsets: fractional partition',
    request('GET', '/v1/topics/orders/partitions/1.0/offsets'),
    400,
    'INVALID_REQUEST',
    'partition: must be a non-negative integer',
  ],
  // transport-level
  [
    'wrong content type',
    request('POST', RECORDS, { headers: { 'content-type': 'text/plain' }, body: '{"records":[{}]}' }),
    415,
    'INVALID_REQUEST',
    'Content-Type text/plain is not accepted',
  ],
  [
    'no content type',
    request('POST', '/v1/topics', { body: new Uint8Array(utf8('{"name":"t","partitions":1}')) }),
    415,
    'INVALID_REQUEST',
    'no Content-Type is not accepted',
  ],
  [
    'JSON in latin1',
    request('POST', '/v1/topics', {
      headers: { 'content-type': 'application/json; charset=iso-8859-1' },
      body: '{}',
    }),
    415,
    'INVALID_REQUEST',
    'is not accepted',
  ],
  [
    'binary type on create topic',
    request('POST', '/v1/topics', { headers: { 'content-type': PRODUCE_CONTENT_TYPE }, body: '{}' }),
    415,
    'INVALID_REQUEST',
    'send application/json',
  ],
  ['unknown route', request('GET', '/v1/topic'), 404, 'INVALID_REQUEST', 'no route for GET /v1/topic'],
  ['unknown route outside /v1', request('GET', '/'), 404, 'INVALID_REQUEST', 'no route for GET /'],
  ['trailing slash', request('GET', '/v1/topics/'), 404, 'INVALID_REQUEST', 'no route'],
  [
    'malformed percent-encoding',
    request('GET', '/v1/topics/%E0%A4%A'),
    400,
    'INVALID_REQUEST',
    'malformed percent-encoding',
  ],
  [
    'wrong method',
    request('PUT', '/v1/topics/orders'),
    405,
    'INVALID_REQUEST',
    'allowed: GET, PATCH, DELETE',
  ],
  [
    'idempotency key too long',
    request('POST', RECORDS, { headers: { 'idempotency-key': 'k'.repeat(129) }, ...produceJson([{}]) }),
    400,
    'INVALID_REQUEST',
    'Idempotency-Key: must be at most 128 characters',
  ],
  [
    'idempotency key with spaces',
    request('POST', RECORDS, { headers: { 'idempotency-key': 'a b' }, ...produceJson([{}]) }),
    400,
    'INVALID_REQUEST',
    'Idempotency-Key: must be 1 or more visible ASCII',
  ],
  [
    'empty idempotency key',
    request('POST', RECORDS, { headers: { 'idempotency-key': '' }, ...produceJson([{}]) }),
    400,
    'INVALID_REQUEST',
    'Idempotency-Key',
  ],
  // binary produce framing
  ['binary: empty body', binary([]), 400, 'INVALID_REQUEST', 'truncated at byte 0 reading record count'],
  ['binary: zero records', binary(int32(0)), 400, 'INVALID_REQUEST', 'record count 0 is out of range'],
  [
    'binary: count larger than the body',
    binary([...int32(2), ...binaryRecordStart, ...int32(0)]),
    400,
    'INVALID_REQUEST',
    'record count 2 needs at least',
  ],
  [
    'binary: truncated key',
    binary([...int32(1), ...int32(-1), ...int64(-1), ...int32(20), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
    400,
    'INVALID_REQUEST',
    'reading record 0 key',
  ],
  [
    'binary: key length below -1',
    binary([...int32(1), ...int32(-1), ...int64(-1), ...int32(-2), ...int32(-1), ...int32(0)]),
    400,
    'INVALID_REQUEST',
    'record 0 key length -2 is invalid',
  ],
  [
    'binary: partition below -1',
    binary([...int32(1), ...int32(-2), ...int64(-1), ...int32(-1), ...int32(-1), ...int32(0)]),
    400,
    'INVALID_REQUEST',
    'record 0: partition -2 is invalid',
  ],
  [
    'binary: timestamp below -1',
    binary([...int32(1), ...int32(-1), ...int64(-2), ...int32(-1), ...int32(-1), ...int32(0)]),
    400,
    'INVALID_REQUEST',
    'record 0: timestamp -2 is invalid',
  ],
  [
    'binary: trailing bytes',
    binary([...int32(1), ...binaryRecordStart, ...int32(0), 7]),
    400,
    'INVALID_REQUEST',
    '1 unexpected bytes after record 0',
  ],
  [
    'binary: negative header count',
    binary([...int32(1), ...binaryRecordStart, ...int32(-1)]),
    400,
    'INVALID_REQUEST',
    'header count -1 is invalid',
  ],
  [
    'binary: null header key',
    binary([...int32(1), ...binaryRecordStart, ...int32(1), ...int32(-1), ...int32(-1)]),
    400,
    'INVALID_REQUEST',
    'header 0: key length -1 is invalid',
  ],
  [
    'binary: header key not UTF-8',
    binary([...int32(1), ...binaryRecordStart, ...int32(1), ...int32(1), 0xff, ...int32(-1)]),
    400,
    'INVALID_REQUEST',
    'header 0: key is not valid UTF-8',
  ],
  [
    'binary: truncated header value',
    binary([...int32(1), ...binaryRecordStart, ...int32(1), ...int32(0), ...int32(5), 1, 2]),
    400,
    'INVALID_REQUEST',
    'reading record 0 header 0 value',
  ],
];

describe('bad input', () => {
  it('covers at least 30 cases', () => {
    expect(BAD_INPUTS.length).toBeGreaterThanOrEqual(30);
  });

  it.each(BAD_INPUTS)('%s', async (_name, bad, status, code, fragment) => {
    // Prepare
    const { handle, log } = await setup();

    // Act
    const response = await handle(bad);

    // Assess
    expect(response.status).toBe(status);
    expect(response.headers['content-type']).toBe('application/json');
    const error = errorOf(response);
    expect(error.code).toBe(code);
    expect(error.retriable).toBe(false);
    if (typeof fragment === 'string') expect(error.message).toContain(fragment);
    else expect(error.message).toMatch(fragment);
    expect(log.produced).toBeUndefined();
  });

  it('answers 405 with an Allow header listing the methods of the path', async () => {
    // Prepare
    const { handle } = await setup();

    // Act
    const response = await handle(request('DELETE', '/v1/health'));

    // Assess
    expect(response.status).toBe(405);
    expect(response.headers.allow).toBe('GET');
  });

  it('answers 413 RECORD_TOO_LARGE for an event one byte over the bound, before parsing the body', async () => {
    // Prepare: a bound set to this request's exact event size, then one byte below it
    const body = JSON.stringify({ records: [{ value: 'x"\u0001'.repeat(200) }] });
    const produce = () => request('POST', RECORDS, { headers: { 'content-type': 'text/plain' }, body });
    const { bytes } = lambdaEventSize(produce(), { topic: 'orders' });
    const atBound = await setup({ maxPayloadBytes: bytes });
    const overBound = await setup({ maxPayloadBytes: bytes - 1 });

    // Act
    const accepted = await atBound.handle(produce());
    const refused = await overBound.handle(produce());

    // Assess: at the bound the route runs (and refuses text/plain); over it, nothing is parsed
    expect(accepted.status).toBe(415);
    expect(refused.status).toBe(413);
    expect(errorOf(refused)).toMatchObject({
      code: 'RECORD_TOO_LARGE',
      retriable: false,
      eventBytes: bytes,
      maxEventBytes: bytes - 1,
    });
    expect(errorOf(refused).message).toContain('JSON-escaped');
    expect(overBound.log.produced).toBeUndefined();
  });

  it('measures a binary body by its base64, as API Gateway sends it', async () => {
    // Prepare: 3000 bytes of body are 4000 characters of base64 in the event
    const body = encodeProduceBody([{ key: null, value: new Uint8Array(2972).fill(0x22), headers: [] }]);
    expect(body.byteLength).toBe(3000);
    const produce = () =>
      request('POST', RECORDS, { headers: { 'content-type': PRODUCE_CONTENT_TYPE }, body });
    const { bytes, base64 } = lambdaEventSize(produce(), { topic: 'orders' });
    const { handle, log } = await setup({ maxPayloadBytes: bytes - 1 });

    // Act
    const response = await handle(produce());

    // Assess
    expect(base64).toBe(true);
    expect(lambdaEventSize({ ...produce(), body: new Uint8Array(0) }, { topic: 'orders' }).bytes).toBe(
      bytes - 4000,
    );
    expect(response.status).toBe(413);
    expect(errorOf(response).message).toContain('base64');
    expect(log.produced).toBeUndefined();
  });

  it('answers 413 RECORD_TOO_LARGE for a JSON body under 4.5 MB whose Lambda event is over 6 MiB', async () => {
    // Prepare: 3.2 MB of body, nearly all `\"`; API Gateway escapes the body once more into the
    // event's body string, where each `\"` becomes 4 bytes: 6.4 MB, more than Lambda takes.
    const { handle, log } = await setup();
    const body = JSON.stringify({
      records: [{ value: '"'.repeat(800_000) }, { value: '"'.repeat(800_000) }],
    });
    expect(body.length).toBeLessThan(4_500_000);

    // Act
    const response = await handle(request('POST', RECORDS, { body }));

    // Assess: the router's own 413 naming both sizes, and nothing produced
    expect(response.status).toBe(413);
    const error = errorOf(response);
    expect(error).toMatchObject({ code: 'RECORD_TOO_LARGE', retriable: false, maxEventBytes: 6_291_456 });
    expect(error.eventBytes).toBeGreaterThan(6_400_000);
    expect(error.message).toContain(String(error.eventBytes));
    expect(error.message).toContain('6291456');
    expect(log.produced).toBeUndefined();
  });

  it('lists several problems of one body in one message', async () => {
    // Prepare
    const { handle } = await setup();

    // Act
    const response = await handle(produceBad([{ key: 1 }, { partition: 'x' }]));

    // Assess
    expect(errorOf(response).message).toBe(
      'records[0].key: must be a string (send bytes as keyBase64); records[1].partition: must be an integer',
    );
  });
});

describe("Lambda's payload bound on responses", () => {
  const quotes = (n: number) => utf8('"'.repeat(n));
  // Small enough for a few records per page, large enough for a GET's event (4096 bytes are reserved).
  const bound = 5600;

  it('cuts a JSON fetch page where its Lambda result document is full, and loses no record', async () => {
    // Prepare: 30 records of 100 `"` (each about 500 bytes of the document), some per page
    const { handle, log } = await setup({ maxPayloadBytes: bound });
    await log.produce({
      topic: 'orders',
      records: Array.from({ length: 30 }, () => ({ key: null, value: quotes(100), headers: [] })),
    });

    // Act
    const pages: { records: { offset: number; value: string }[]; nextOffset: number }[] = [];
    for (let offset = 0; offset < 30; ) {
      const response = await handle(request('GET', `${FETCH}?offset=${offset}`));
      expect(response.status).toBe(200);
      expect(lambdaResponseBytes(response)).toBeLessThanOrEqual(bound);
      const page = json(response) as (typeof pages)[number];
      pages.push(page);
      offset = page.nextOffset;
    }

    // Assess
    expect(pages.length).toBeGreaterThan(2);
    const records = pages.flatMap((page) => page.records);
    expect(records.map((record) => record.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(records.every((record) => record.value === '"'.repeat(100))).toBe(true);
  });

  it('refuses a binary fetch whose batch is too large for the response once base64-encoded', async () => {
    // Prepare: a 3000-byte batch, 4000 characters of base64, against a bound that leaves 3552
    const { handle, log } = await setup({ maxPayloadBytes: bound });
    await log.produce({ topic: 'orders', records: [{ key: null, value: quotes(2900), headers: [] }] });

    // Act
    const response = await handle(
      request('GET', `${FETCH}?offset=0`, { headers: { accept: BATCHES_CONTENT_TYPE } }),
    );

    // Assess
    expect(response.status).toBe(413);
    expect(errorOf(response)).toMatchObject({ code: 'RECORD_TOO_LARGE', retriable: false });
    expect(errorOf(response).message).toContain('JSON form');
  });

  it('answers 500 INTERNAL for a response Lambda could not return, and reports it', async () => {
    // Prepare: a route whose answer is over the bound
    const { handle, internalErrors } = await setup({
      maxPayloadBytes: bound,
      routeTables: [
        {
          prefix: '/v1/big',
          routes: [
            {
              method: 'GET',
              path: '/v1/big',
              doc: TEST_ROUTE_DOC,
              handle: async () => jsonResponse(200, 'x'.repeat(bound)),
            },
          ],
        },
      ],
    });

    // Act
    const response = await handle(request('GET', '/v1/big', { headers: { 'x-request-id': 'r-1' } }));

    // Assess
    expect(response.status).toBe(500);
    expect(errorOf(response)).toMatchObject({ code: 'INTERNAL', message: 'internal error' });
    expect(response.headers['x-request-id']).toBe('r-1');
    expect(internalErrors).toHaveLength(1);
    expect(String(internalErrors[0])).toContain('exceeds');
  });
});

describe('extension tables', () => {
  it('routes to an extra table, which renders its own errors and owns its prefix', async () => {
    // Prepare
    const { handle } = await setup({
      routeTables: [
        {
          prefix: '/v1/groups',
          routes: [
            {
              method: 'GET',
              path: '/v1/groups/{group}',
              doc: TEST_ROUTE_DOC,
              handle: async ({ params }) => ({ status: 200, headers: {}, body: `group ${params.group}` }),
            },
          ],
          renderError: () => ({ status: 418, headers: {}, body: 'groups error' }),
        },
      ],
    });

    // Act
    const found = await handle(request('GET', '/v1/groups/g%201'));
    const missing = await handle(request('GET', '/v1/groups/g/x/y'));
    const builtIn = await handle(request('GET', '/v1/topics'));

    // Assess
    expect(found.body).toBe('group g 1');
    expect(missing.status).toBe(418);
    expect(builtIn.status).toBe(200);
  });

  it('answers unknown /schema-registry paths with 404 in the Confluent error shape', async () => {
    // Prepare
    const { handle } = await setup();

    // Act
    const response = await handle(request('GET', '/schema-registry/associations/subjects/x'));
    const root = await handle(request('GET', '/schema-registry'));

    // Assess
    expect(response.status).toBe(404);
    expect(response.headers['content-type']).toBe('application/vnd.schemaregistry.v1+json');
    expect(json(response)).toEqual({ error_code: 404, message: 'HTTP 404 Not Found' });
    expect(root.status).toBe(404);
  });

  it('lets a schema registry table take over its prefix', async () => {
    // Prepare
    const { handle } = await setup({
      routeTables: [
        {
          prefix: '/schema-registry',
          routes: [
            {
              method: 'GET',
              path: '/schema-registry/subjects',
              doc: TEST_ROUTE_DOC,
              handle: async () => ({ status: 200, headers: {}, body: '[]' }),
            },
          ],
        },
      ],
    });

    // Act
    const response = await handle(request('GET', '/schema-registry/subjects'));

    // Assess
    expect(response.status).toBe(200);
    expect(response.body).toBe('[]');
  });
});

describe('request id', () => {
  it('echoes a sane X-Request-Id and ignores an unsafe one', async () => {
    // Prepare
    const { handle } = await setup();

    // Act
    const echoed = await handle(request('GET', '/v1/health', { headers: { 'x-request-id': 'abc-123' } }));
    const ignored = await handle(request('GET', '/v1/health', { headers: { 'x-request-id': 'a b\u0000' } }));

    // Assess
    expect(echoed.headers['x-request-id']).toBe('abc-123');
    expect(ignored.headers['x-request-id']).toBeUndefined();
  });
});

describe('toJsonRecord', () => {
  it('keeps a leading BOM so the text re-encodes to the stored bytes', () => {
    // Prepare
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, 0x61]);

    // Act
    const out = toJsonRecord({ offset: 0, timestamp: 0, key: null, value: bytes, headers: [] }, 'utf8');

    // Assess
    expect(utf8(out.value as string)).toEqual(bytes);
  });

  it('keeps the last value of a repeated header key', () => {
    // Prepare
    const headers = [
      { key: 'h', value: utf8('first') },
      { key: 'h', value: new Uint8Array([0xff]) },
      { key: 'h', value: utf8('last') },
    ];

    // Act
    const out = toJsonRecord({ offset: 0, timestamp: 0, key: null, value: null, headers }, 'utf8');

    // Assess
    expect(out.headers).toEqual({ h: 'last' });
    expect(out.headersBase64).toBeUndefined();
  });
});

describe('error messages stay small', () => {
  it('echoes at most five unknown field names, each cut short, however many and long they are', async () => {
    // Prepare: 20,000 unknown fields, one of them 3 MB long
    const { handle } = await setup();
    const body: Record<string, unknown> = { name: 'ok', partitions: 1 };
    for (let i = 0; i < 20_000; i++) body[`field${i}`] = i;
    body['x'.repeat(3_000_000)] = 1;
    // Act
    const response = await handle(request('POST', '/v1/topics', { body }));
    // Assess
    expect(response.status).toBe(400);
    const text = typeof response.body === 'string' ? response.body : new TextDecoder().decode(response.body);
    expect(text.length).toBeLessThan(2_000);
    expect(text, text).toMatch(/unknown fields .* and \d+ more/);
  });
});
