/**
 * The Lambda handlers end to end on API Gateway HTTP API v2 events (fixtures in ./events, shaped as API
 * Gateway sends them), through the real router and services on the memory adapters, injected at the
 * Lambda composition root. Logs and EMF metrics are read from what Powertools writes to stdout/stderr.
 */
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BATCHES_CONTENT_TYPE,
  encodeProduceBatches,
  encodeProduceBody,
  PRODUCE_CONTENT_TYPE,
} from '../../client/wire/binary.ts';
import { MAX_LAMBDA_PAYLOAD_BYTES, MAX_PRODUCE_BODY_BYTES } from '../../client/wire/limits.ts';
import { decodeRecordBatch } from '../../client/wire/record-batch.ts';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { handler as admin } from '../../lambdas/handlers/admin.ts';
import { handler as fetchHandler } from '../../lambdas/handlers/fetch.ts';
import { handler as groups } from '../../lambdas/handlers/groups.ts';
import type { HttpLambda } from '../../lambdas/handlers/http-handler.ts';
import { handler as janitorHandler } from '../../lambdas/handlers/janitor.ts';
import { handler as produce } from '../../lambdas/handlers/produce.ts';
import { handler as subscriptions } from '../../lambdas/handlers/subscriptions.ts';
import type { ApiGatewayResult, HttpApiEvent } from '../../lambdas/http/apigw.ts';
import { getServices, readLambdaConfig, setBackendForTests } from '../../lambdas/runtime/lambda-root.ts';
import { METRIC } from '../../lambdas/runtime/metric-names.ts';
import { lambdaContext } from '../support/lambda-context.ts';
import { memoryBackend } from '../support/memory-backend.ts';

// ---------------------------------------------------------------------------------------------------
// Fixtures and helpers.

/** Parsed JSON (bodies, log lines, EMF documents): checked by `expect`, not narrowed by hand. */
// biome-ignore lint/suspicious/noExplicitAny: see above
type Json = any;

function loadEvent(name: string): HttpApiEvent {
  return JSON.parse(readFileSync(new URL(`./events/${name}.json`, import.meta.url), 'utf8')) as HttpApiEvent;
}

let invocations = 0;

async function invoke(handler: HttpLambda, event: HttpApiEvent | string): Promise<ApiGatewayResult> {
  invocations += 1;
  const requestId = `8f5a3c1e-0000-4000-8000-${String(invocations).padStart(12, '0')}`;
  return handler(
    typeof event === 'string' ? loadEvent(event) : event,
    lambdaContext('streambed-fn', requestId),
  );
}

function jsonBody(result: ApiGatewayResult): Json {
  expect(result.isBase64Encoded ?? false).toBe(false);
  return JSON.parse(result.body ?? '');
}

/** Everything Powertools prints (it writes through its own Console on process.stdout / stderr). */
interface Captured {
  raw: () => string;
  /** JSON log lines (not EMF). */
  logs: () => Record<string, Json>[];
  /** EMF documents, each with its `_aws` metadata. */
  emf: () => Record<string, Json>[];
}

function captureOutput(): Captured & { restore: () => void } {
  const chunks: string[] = [];
  const record = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(record);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(record);
  const parsed = (): Record<string, Json>[] =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, Json>);
  return {
    raw: () => chunks.join(''),
    logs: () => parsed().filter((entry) => entry._aws === undefined),
    emf: () => parsed().filter((entry) => entry._aws !== undefined),
    restore: () => {
      out.mockRestore();
      err.mockRestore();
    },
  };
}

function requestLogs(output: Captured): Record<string, Json>[] {
  return output.logs().filter((entry) => entry.message === 'request');
}

/** The request metrics (not the ColdStart document, which only the first invocation emits). */
function requestMetrics(output: Captured): Record<string, Json>[] {
  return output.emf().filter((entry) => entry[METRIC.requestDuration] !== undefined);
}

/** Values, keys and credentials from the fixtures that must never reach a log line. */
const SECRETS = [
  'json-secret-value',
  'base64-secret-value',
  'binary-secret-value',
  'eu-secret-value',
  'customer-42',
  'sensor-7',
  '5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
  'IQoJb3JpZ2luX2VjEXAMPLETOKEN',
  'AWS4-HMAC-SHA256',
];

let output: Captured & { restore: () => void };

beforeEach(() => {
  setBackendForTests(memoryBackend());
  output = captureOutput();
});

afterEach(() => {
  output.restore();
  setBackendForTests(undefined);
  vi.unstubAllEnvs();
});

async function createOrders(): Promise<void> {
  const result = await invoke(admin, 'create-topic');
  expect(result.statusCode).toBe(201);
}

// ---------------------------------------------------------------------------------------------------

describe('admin handler', () => {
  it('creates a topic from a JSON body', async () => {
    // Act
    const result = await invoke(admin, 'create-topic');

    // Assess
    expect(result.statusCode).toBe(201);
    expect(result.headers).toMatchObject({
      'content-type': 'application/json',
      location: '/v1/topics/orders',
    });
    expect(jsonBody(result)).toMatchObject({ name: 'orders', partitions: 3 });
    const services = await getServices();
    expect((await services.topics.describeTopic('orders')).partitions).toBe(3);
  });

  it('answers an unknown topic with 404 and the Streambed error shape', async () => {
    // Act
    const result = await invoke(admin, 'describe-unknown-topic');

    // Assess
    expect(result.statusCode).toBe(404);
    const body = jsonBody(result);
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).toMatchObject({ code: 'TOPIC_NOT_FOUND', retriable: false });
    expect(body.error.message).toContain('no-such-topic');
  });

  it('keeps an encoded %2F inside the topic segment (rawPath, not the decoded path)', async () => {
    // Act: the decoded path /v1/topics/orders/eu would be "no route" (404 INVALID_REQUEST)
    const result = await invoke(admin, 'describe-encoded-slash');

    // Assess
    expect(result.statusCode).toBe(400);
    expect(jsonBody(result).error).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(jsonBody(result).error.message).toContain('"orders/eu"');
  });

  it('strips a named stage from rawPath', async () => {
    // Prepare
    const event = loadEvent('health');
    event.rawPath = '/prod/v1/health';
    event.requestContext.http.path = '/prod/v1/health';
    event.requestContext.stage = 'prod';

    // Act
    const result = await invoke(admin, event);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(jsonBody(result)).toEqual({ status: 'ok' });
  });

  it('answers GET /v1/openapi.json with the API document of every route, not only its own', async () => {
    // Prepare
    const event = loadEvent('health');
    event.rawPath = '/v1/openapi.json';
    event.routeKey = 'GET /v1/openapi.json';
    event.requestContext.http.path = '/v1/openapi.json';
    event.requestContext.routeKey = 'GET /v1/openapi.json';

    // Act
    const result = await invoke(admin, event);

    // Assess
    expect(result.statusCode).toBe(200);
    const document = jsonBody(result);
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining(['/v1/topics', '/v1/groups', '/v1/subscriptions', '/schema-registry/subjects']),
    );
  });

  it('hides an internal error behind a bare 500 and logs it for operators', async () => {
    // Prepare: a metadata store failing with an operator-only message
    const secret = 'table arn:aws:dynamodb:eu-west-1:123456789012:table/streambed-internal is on fire';
    const failing = new MemoryMetaStore();
    failing.get = async () => {
      throw new Error(secret);
    };
    setBackendForTests(memoryBackend(failing));

    // Act
    const result = await invoke(admin, 'describe-unknown-topic');

    // Assess
    expect(result.statusCode).toBe(500);
    expect(jsonBody(result)).toEqual({
      error: { code: 'INTERNAL', message: 'internal error', retriable: false },
    });
    expect(result.body).not.toContain('arn:aws');
    const logged = output.logs().find((entry) => entry.message === 'internal error');
    expect(logged?.level).toBe('ERROR');
    expect(logged?.error?.message).toBe(secret);
    expect(requestMetrics(output)[0]).toMatchObject({ status_class: '5xx', [METRIC.requests]: 1 });
  });
});

describe('produce handler', () => {
  it('produces a JSON body and replies with one offset per record', async () => {
    // Prepare
    await createOrders();

    // Act
    const result = await invoke(produce, 'produce-json');

    // Assess
    expect(result.statusCode).toBe(200);
    expect(jsonBody(result)).toEqual({
      offsets: [
        { partition: 0, offset: 0 },
        { partition: 0, offset: 1 },
      ],
    });
  });

  it('decodes a base64-encoded JSON body (isBase64Encoded)', async () => {
    // Prepare
    await createOrders();

    // Act
    const result = await invoke(produce, 'produce-json-base64');

    // Assess
    expect(result.statusCode).toBe(200);
    expect(jsonBody(result)).toEqual({ offsets: [{ partition: 2, offset: 0 }] });
    const fetched = await (await getServices()).log.fetch({ topic: 'orders', partition: 2, offset: 0 });
    expect(new TextDecoder().decode(fetched.records[0]?.value ?? new Uint8Array())).toBe(
      'base64-secret-value',
    );
  });

  it('produces the binary form, base64-encoded by API Gateway', async () => {
    // Prepare
    await createOrders();
    const event = loadEvent('produce-binary');
    expect(event.headers['content-type']).toBe(PRODUCE_CONTENT_TYPE);

    // Act
    const result = await invoke(produce, event);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(jsonBody(result)).toEqual({
      offsets: [
        { partition: 1, offset: 0 },
        { partition: 1, offset: 1 },
      ],
    });
    expect(requestLogs(output).at(-1)).toMatchObject({
      bytesIn: Buffer.from(event.body ?? '', 'base64').length,
    });
  });

  it('produces record batches, as the SDK sends them when it knows the partitions, base64-encoded by API Gateway', async () => {
    // Prepare: the binary event, its body and type replaced by a body of batches for two partitions
    await createOrders();
    const value = (text: string) => ({
      key: null,
      value: new TextEncoder().encode(text),
      timestamp: Date.now(),
      headers: [],
    });
    const body = encodeProduceBatches([
      { partition: 2, records: [value('x'), value('y')] },
      { partition: 0, records: [value('z')] },
    ]);
    const binary = loadEvent('produce-binary');
    const event: HttpApiEvent = {
      ...binary,
      headers: {
        ...binary.headers,
        'content-type': BATCHES_CONTENT_TYPE,
        'content-length': String(body.length),
      },
      body: Buffer.from(body).toString('base64'),
      isBase64Encoded: true,
    };

    // Act
    const result = await invoke(produce, event);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(jsonBody(result)).toEqual({
      offsets: [
        { partition: 2, offset: 0 },
        { partition: 2, offset: 1 },
        { partition: 0, offset: 0 },
      ],
    });
    const fetched = await (await getServices()).log.fetch({ topic: 'orders', partition: 2, offset: 0 });
    expect(fetched.records.map((r) => new TextDecoder().decode(r.value ?? new Uint8Array()))).toEqual([
      'x',
      'y',
    ]);
  });

  it('produces to a topic whose name is percent-encoded in rawPath', async () => {
    // Prepare
    await (await getServices()).topics.createTopic('orders.eu', 1);

    // Act
    const result = await invoke(produce, 'produce-encoded-topic');

    // Assess
    expect(result.statusCode).toBe(200);
    expect(jsonBody(result)).toEqual({ offsets: [{ partition: 0, offset: 0 }] });
    const details = await (await getServices()).topics.describeTopic('orders.eu');
    expect(details.partitionStates[0]?.highWatermark).toBe(1);
  });

  it('accepts a binary body of MAX_PRODUCE_BODY_BYTES, the largest the SDK builds', async () => {
    // Prepare: five records (each within max.message.bytes) filling the body exactly
    await createOrders();
    const framing = encodeProduceBody(
      Array.from({ length: 5 }, () => ({ key: null, value: new Uint8Array(0), headers: [] })),
    ).byteLength;
    const valueBytes = MAX_PRODUCE_BODY_BYTES - framing;
    const size = (i: number) => Math.floor(valueBytes / 5) + (i === 0 ? valueBytes % 5 : 0);
    const records = Array.from({ length: 5 }, (_, i) => ({
      key: null,
      value: new Uint8Array(size(i)).fill(i),
      headers: [],
      partition: 0,
    }));
    const body = encodeProduceBody(records);
    expect(body.byteLength).toBe(MAX_PRODUCE_BODY_BYTES);
    const event = loadEvent('produce-binary');
    event.body = Buffer.from(body).toString('base64');

    // Act
    const result = await invoke(produce, event);

    // Assess
    expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(MAX_LAMBDA_PAYLOAD_BYTES);
    expect(result.statusCode).toBe(200);
    expect(jsonBody(result).offsets).toHaveLength(5);
  });

  it("answers an event within the envelope reserve of Lambda's bound with a clean 413, writing nothing", async () => {
    // Prepare: a binary body whose base64 leaves less than the envelope's reserve of Lambda's bound
    await createOrders();
    const event = loadEvent('produce-binary');
    event.body = Buffer.alloc(Math.floor((MAX_LAMBDA_PAYLOAD_BYTES - 3000) / 4) * 3, 7).toString('base64');
    expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThan(MAX_LAMBDA_PAYLOAD_BYTES);

    // Act
    const result = await invoke(produce, event);

    // Assess
    expect(result.statusCode).toBe(413);
    expect(jsonBody(result).error).toMatchObject({
      code: 'RECORD_TOO_LARGE',
      retriable: false,
      maxEventBytes: MAX_LAMBDA_PAYLOAD_BYTES,
    });
    const details = await (await getServices()).topics.describeTopic('orders');
    expect(details.partitionStates.map((state) => state.highWatermark)).toEqual([0, 0, 0]);
  });
});

describe('fetch handler', () => {
  async function prepareRecords(): Promise<void> {
    await createOrders();
    expect((await invoke(produce, 'produce-json')).statusCode).toBe(200);
  }

  it('fetches JSON records by path parameters and query string', async () => {
    // Prepare
    await prepareRecords();

    // Act
    const result = await invoke(fetchHandler, 'fetch-utf8');

    // Assess
    expect(result.statusCode).toBe(200);
    expect(jsonBody(result)).toEqual({
      records: [
        {
          offset: 0,
          timestamp: 1741806000000,
          key: 'customer-42',
          value: 'json-secret-value-1',
          headers: { trace: 't-1' },
        },
        {
          offset: 1,
          timestamp: 1741806100000,
          key: 'customer-43',
          value: '{"amount":12,"note":"json-secret-value-2"}',
          headers: {},
        },
      ],
      nextOffset: 2,
      highWatermark: 2,
      logStartOffset: 0,
    });
  });

  it('fetches with encoding=base64', async () => {
    // Prepare
    await prepareRecords();

    // Act
    const result = await invoke(fetchHandler, 'fetch-base64');

    // Assess
    expect(result.statusCode).toBe(200);
    const [record, ...rest] = jsonBody(result).records;
    expect(rest).toEqual([]);
    expect(record).toMatchObject({
      offset: 1,
      keyBase64: Buffer.from('customer-43').toString('base64'),
      valueBase64: Buffer.from('{"amount":12,"note":"json-secret-value-2"}').toString('base64'),
    });
    expect(record).not.toHaveProperty('value');
  });

  it('returns record batches base64-encoded when Accept asks for them', async () => {
    // Prepare
    await createOrders();
    expect((await invoke(produce, 'produce-binary')).statusCode).toBe(200);
    const event = loadEvent('fetch-binary');
    expect(event.headers.accept).toBe(BATCHES_CONTENT_TYPE);

    // Act
    const result = await invoke(fetchHandler, event);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(result.isBase64Encoded).toBe(true);
    expect(result.headers).toMatchObject({
      'content-type': BATCHES_CONTENT_TYPE,
      'streambed-next-offset': '2',
      'streambed-high-watermark': '2',
    });
    const batch = decodeRecordBatch(Buffer.from(result.body ?? '', 'base64'));
    expect(
      batch.records.map((r) => [r.offset, r.value === null ? null : Buffer.from(r.value).toString('hex')]),
    ).toEqual([
      [0, 'deadbeef00ff'],
      [1, Buffer.from('binary-secret-value').toString('hex')],
    ]);
    expect(requestLogs(output).at(-1)).toMatchObject({
      partition: 1,
      bytesOut: Buffer.from(result.body ?? '', 'base64').length,
    });
  });

  it('finds the offset for a timestamp', async () => {
    // Prepare
    await prepareRecords();

    // Act
    const result = await invoke(fetchHandler, 'offsets-timestamp');

    // Assess
    expect(result.statusCode).toBe(200);
    expect(jsonBody(result)).toEqual({ logStartOffset: 0, highWatermark: 2, offset: 1 });
  });

  it('rejects an unknown query parameter with 400', async () => {
    // Prepare
    await prepareRecords();

    // Act
    const result = await invoke(fetchHandler, 'fetch-bad-query');

    // Assess
    expect(result.statusCode).toBe(400);
    expect(jsonBody(result).error).toMatchObject({ code: 'INVALID_REQUEST', retriable: false });
    expect(jsonBody(result).error.message).toContain('max_byte');
  });

  it('keeps a JSON page of ~110k tiny records under the Lambda response bound', async () => {
    // Prepare: ~110k tiny records fit the default max_bytes as batches, but not as JSON in 6 MB
    await createOrders();
    const { log } = await getServices();
    const tiny = {
      key: null,
      value: new Uint8Array([0x78]),
      headers: [],
      partition: 0,
      timestamp: 1741806000000,
    };
    for (let request = 0; request < 11; request += 1) {
      await log.produce({ topic: 'orders', records: Array.from({ length: 10_000 }, () => ({ ...tiny })) });
    }

    // Act
    const result = await invoke(fetchHandler, 'fetch-utf8');

    // Assess: fetch budgets the page by its JSON size, so the page is cut short and says where to go on
    expect(result.statusCode).toBe(200);
    const page = jsonBody(result) as { records: { offset: number }[]; nextOffset: number };
    expect(page.records.length).toBeGreaterThan(0);
    expect(page.records.length).toBeLessThan(110_000);
    expect(page.nextOffset).toBe((page.records.at(-1)?.offset ?? -1) + 1);
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThanOrEqual(MAX_LAMBDA_PAYLOAD_BYTES);
  });

  /** Fetches partition 0 of orders from `offset` with max_bytes 3 MiB, as API Gateway invokes the function. */
  async function fetchPage(offset: number): Promise<ApiGatewayResult> {
    const event = loadEvent('fetch-utf8');
    event.rawQueryString = `offset=${offset}&max_bytes=${3 * 1024 * 1024}`;
    return invoke(fetchHandler, event);
  }

  /** Every record from offset 0 to the high watermark, page by page; each page checked against Lambda's bound. */
  async function fetchAll(): Promise<{ pages: Json[]; records: Json[] }> {
    const pages: Json[] = [];
    let offset = 0;
    for (;;) {
      const result = await fetchPage(offset);
      expect(result.statusCode).toBe(200);
      expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThanOrEqual(MAX_LAMBDA_PAYLOAD_BYTES);
      const page = jsonBody(result);
      pages.push(page);
      expect(page.records.length).toBeGreaterThan(0);
      expect(page.nextOffset).toBe(page.records.at(-1).offset + 1);
      offset = page.nextOffset;
      if (offset === page.highWatermark) break;
    }
    return { pages, records: pages.flatMap((page) => page.records) };
  }

  it('answers quote-heavy records at max_bytes 3 MiB with fewer records, none lost across fetches', async () => {
    // Prepare: 30 values of 100 000 `"` (3 MB of batch bytes, one page). Each `"` is 2 bytes of the
    // JSON body and 4 of the Lambda response document: the whole page would be 12 MB there.
    await createOrders();
    const { log } = await getServices();
    const quotes = new Uint8Array(100_000).fill(0x22);
    const records = Array.from({ length: 30 }, () => ({
      key: null,
      value: quotes,
      headers: [],
      partition: 0,
    }));
    await log.produce({ topic: 'orders', records });

    // Act
    const { pages, records: fetched } = await fetchAll();

    // Assess: cut into pages that fit, every record once, in order, as stored
    expect(pages.length).toBeGreaterThan(1);
    expect(fetched.map((record: Json) => record.offset)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(fetched.every((record: Json) => record.value === '"'.repeat(100_000))).toBe(true);
  });

  it('answers one 900 kB record of 0x01 bytes as base64, since its text does not fit', async () => {
    // Prepare: as text each 0x01 is `\u0001` (6 bytes) in the body and 7 in the document: 6.3 MB.
    await createOrders();
    const { log } = await getServices();
    const value = new Uint8Array(900_000).fill(0x01);
    await log.produce({ topic: 'orders', records: [{ key: null, value, headers: [], partition: 0 }] });

    // Act
    const result = await fetchPage(0);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThanOrEqual(MAX_LAMBDA_PAYLOAD_BYTES);
    const page = jsonBody(result);
    expect(page.nextOffset).toBe(1);
    expect(page.records).toHaveLength(1);
    expect(page.records[0]).not.toHaveProperty('value');
    expect(Buffer.from(page.records[0].valueBase64, 'base64').equals(Buffer.from(value))).toBe(true);
  });
});

describe('groups handler', () => {
  it('joins a consumer group through the groups function and gets every partition', async () => {
    // Prepare
    await createOrders();
    // Act
    const result = await invoke(groups, 'join-group');
    // Assess
    expect(result.statusCode).toBe(201);
    const body = jsonBody(result) as {
      memberId: string;
      assignments: { partition: number; epoch: number }[];
    };
    expect(body.memberId).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.assignments.map((a) => [a.partition, a.epoch])).toEqual([
      [0, 1],
      [1, 1],
      [2, 1],
    ]);
  });
});

describe('subscriptions handler', () => {
  // Which targets a deployment accepts is the target policy's to test; here only the routing.
  it('lists subscriptions and answers an unknown one with 404 SUBSCRIPTION_NOT_FOUND', async () => {
    // Prepare
    const list = loadEvent('list-subscriptions');
    const unknown = loadEvent('list-subscriptions');
    unknown.routeKey = 'GET /v1/subscriptions/{subscription}';
    unknown.rawPath = '/v1/subscriptions/orders-hook';
    unknown.requestContext.http.path = '/v1/subscriptions/orders-hook';
    unknown.pathParameters = { subscription: 'orders-hook' };
    // Act
    const listed = await invoke(subscriptions, list);
    const missing = await invoke(subscriptions, unknown);
    // Assess
    expect(listed.statusCode).toBe(200);
    expect(jsonBody(listed)).toEqual({ subscriptions: [] });
    expect(missing.statusCode).toBe(404);
    expect(jsonBody(missing).error).toMatchObject({ code: 'SUBSCRIPTION_NOT_FOUND' });
  });
});

describe('janitor handler', () => {
  it('runs one janitor pass on a scheduled event and reports it in logs and metrics', async () => {
    // Prepare
    await createOrders();
    const scheduled = { version: '0', 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };
    // Act
    await janitorHandler(scheduled, lambdaContext('streambed-janitor', 'req-janitor-1'));
    // Assess
    const line = output.logs().find((entry) => entry.message === 'janitor run');
    expect(line).toMatchObject({ partitions: 3, incomplete: false });
    const run = output.emf().find((doc) => METRIC.janitorRuns in doc);
    expect(run).toMatchObject({
      concern: 'janitor',
      [METRIC.janitorRuns]: 1,
      [METRIC.janitorErrors]: 0,
      [METRIC.janitorDeletedObjects]: 0,
    });
  });

  it('records each pass for GET /v1/janitor on the admin function: null before the first, then the last', async () => {
    // Prepare
    await createOrders();
    const event = loadEvent('health');
    event.rawPath = '/v1/janitor';
    event.routeKey = 'GET /v1/janitor';
    event.requestContext.http.path = '/v1/janitor';
    event.requestContext.routeKey = 'GET /v1/janitor';
    const scheduled = { version: '0', 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };
    const before = await invoke(admin, event);
    const startedBefore = Date.now();

    // Act
    await janitorHandler(scheduled, lambdaContext('streambed-janitor', 'req-janitor-3'));
    const after = await invoke(admin, event);

    // Assess
    expect(before.statusCode).toBe(200);
    expect(jsonBody(before)).toEqual({ lastRun: null });
    expect(after.statusCode).toBe(200);
    const { lastRun } = jsonBody(after);
    expect(lastRun).toMatchObject({ partitions: 3, failures: 0, deletedObjects: 0, incomplete: false });
    expect(lastRun.finishedAt).toBeGreaterThanOrEqual(startedBefore);
    expect(lastRun.finishedAt).toBeLessThanOrEqual(Date.now());
    expect(lastRun.startedAt).toBeLessThanOrEqual(lastRun.finishedAt);
  });

  it('emits the lag of each consumer group and subscription under the shared names', async () => {
    // Prepare: a group that joined and committed nothing, a subscription that delivered nothing
    await createOrders();
    const services = await getServices();
    await services.groups.join('billing', { topics: ['orders'] });
    await services.subscriptions.create({
      name: 'audit',
      topic: 'orders',
      target: { url: 'http://127.0.0.1:9/never' },
    });
    const produced = jsonBody(await invoke(produce, 'produce-json')).offsets.length;
    const scheduled = { version: '0', 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };

    // Act
    await janitorHandler(scheduled, lambdaContext('streambed-janitor', 'req-janitor-2'));

    // Assess
    const group = output.emf().find((doc) => METRIC.groupLag in doc);
    const subscription = output.emf().find((doc) => METRIC.subscriptionLag in doc);
    expect(group).toMatchObject({ concern: 'janitor', group: 'billing', [METRIC.groupLag]: produced });
    expect(group?._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service', 'concern', 'group']]);
    expect(subscription).toMatchObject({ subscription: 'audit', [METRIC.subscriptionLag]: produced });
  });
});

describe('logs and metrics', () => {
  it('logs one structured line per request with no bodies, keys, values or credentials', async () => {
    // Prepare
    await createOrders();
    const event = loadEvent('produce-json');

    // Act
    await invoke(produce, event);
    await invoke(produce, 'produce-json-base64');
    await invoke(produce, 'produce-binary');
    await invoke(fetchHandler, 'fetch-utf8');
    await invoke(fetchHandler, 'fetch-base64');
    await invoke(fetchHandler, 'fetch-binary');

    // Assess
    const lines = requestLogs(output);
    expect(lines).toHaveLength(7);
    expect(lines[1]).toMatchObject({
      level: 'INFO',
      service: 'streambed',
      concern: 'produce',
      function_request_id: expect.stringMatching(/^8f5a3c1e-/),
      correlation_id: event.requestContext.requestId,
      method: 'POST',
      route: 'POST /v1/topics/{topic}/records',
      topic: 'orders',
      status: 200,
      bytesIn: Buffer.byteLength(event.body ?? ''),
      bytesOut: expect.any(Number),
      latencyMs: expect.any(Number),
    });
    expect(lines[4]).toMatchObject({ concern: 'fetch', topic: 'orders', partition: 0, status: 200 });
    const raw = output.raw();
    for (const secret of SECRETS) expect(raw).not.toContain(secret);
  });

  it('emits EMF metrics once per invocation under the names of the local server, by concern and status class', async () => {
    // Act
    await invoke(admin, 'create-topic');
    await invoke(admin, 'describe-unknown-topic');

    // Assess
    const [created, missing, ...rest] = requestMetrics(output);
    expect(rest).toEqual([]);
    expect(created?._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: 'Streambed',
        Dimensions: [['service', 'concern', 'status_class']],
        Metrics: expect.arrayContaining([
          { Name: 'streambed_requests_total', Unit: 'Count' },
          { Name: 'streambed_request_duration_seconds', Unit: 'Seconds' },
          { Name: 'streambed_request_bytes_total', Unit: 'Bytes' },
          { Name: 'streambed_response_bytes_total', Unit: 'Bytes' },
        ]),
      },
    ]);
    expect(created).toMatchObject({
      service: 'streambed',
      concern: 'admin',
      status_class: '2xx',
      [METRIC.requests]: 1,
    });
    expect(created?.[METRIC.bytesIn]).toBe(Buffer.byteLength(loadEvent('create-topic').body ?? ''));
    expect(missing).toMatchObject({
      concern: 'admin',
      status_class: '4xx',
      [METRIC.requests]: 1,
      [METRIC.bytesIn]: 0,
    });
  });
});

describe('composition root', () => {
  it('names every missing variable at once', () => {
    // Act
    const read = () => readLambdaConfig({ AWS_REGION: 'eu-west-1' });

    // Assess
    expect(read).toThrow(/STREAMBED_TABLE, STREAMBED_BUCKET not set/);
    expect(
      readLambdaConfig({ STREAMBED_TABLE: 't', STREAMBED_BUCKET: 'b', AWS_REGION: 'eu-west-1' }),
    ).toEqual({
      table: 't',
      bucket: 'b',
      region: 'eu-west-1',
    });
  });

  it('answers 500 and logs the missing variable when the environment is incomplete', async () => {
    // Prepare
    setBackendForTests(undefined);
    vi.stubEnv('STREAMBED_TABLE', '');
    vi.stubEnv('STREAMBED_BUCKET', 'streambed-data');
    vi.stubEnv('AWS_REGION', 'eu-west-1');

    // Act
    const result = await invoke(admin, 'health');

    // Assess
    expect(result.statusCode).toBe(500);
    expect(jsonBody(result).error.code).toBe('INTERNAL');
    const logged = output.logs().find((entry) => entry.message === 'handler failed before routing');
    expect(logged?.error?.message).toContain('STREAMBED_TABLE');
    expect(result.body).not.toContain('STREAMBED_TABLE');
  });

  it('builds the AWS backend from the environment once per container, without network at build', async () => {
    // Prepare
    setBackendForTests(undefined);
    vi.stubEnv('STREAMBED_TABLE', 'streambed-meta');
    vi.stubEnv('STREAMBED_BUCKET', 'streambed-data');
    vi.stubEnv('AWS_REGION', 'eu-west-1');

    // Act: health never touches storage, so no credentials or endpoints are needed
    const first = await invoke(admin, 'health');
    const second = await invoke(admin, 'health');

    // Assess
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect(await getServices()).toBe(await getServices());
  });
});
