/**
 * The produce answer written as bytes from runs of offsets (produce-json.ts offsetRunsJson, produce.ts
 * batchesProduceRuns, the router's textBytes answer, through a Lambda as text) and checkRecords
 * making no view per record (record-batch.ts walkRecords): edge cases of each, against JSON.stringify,
 * the per-record answer it replaced, the decoded records and the Lambda document's real size.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BATCHES_CONTENT_TYPE,
  encodeProduceBatches,
  encodeProduceBody,
  PRODUCE_CONTENT_TYPE,
} from '../../client/wire/binary.ts';
import { crc32c } from '../../client/wire/crc32c.ts';
import { MAX_HEADER_KEY_BYTES } from '../../client/wire/limits.ts';
import {
  checkRecords,
  decodeRecordBatch,
  encodeRecordBatch,
  type LogRecord,
  readBatchHeader,
} from '../../client/wire/record-batch.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import type {
  AppendBatchesRequest,
  AppendBatchesResult,
  AppendPartitionResult,
  LogService,
  OffsetRun,
  ProduceRequest,
  ProduceResult,
  RecordOffset,
  TopicService,
} from '../../lambdas/core/log-types.ts';
import { batchesProduceRuns } from '../../lambdas/core/produce.ts';
import { handler as produceHandler } from '../../lambdas/handlers/produce.ts';
import { type ApiGatewayEvent, type HttpApiEvent, toApiGatewayResult } from '../../lambdas/http/apigw.ts';
import {
  jsonStringContentBytes,
  lambdaResponseBytes,
  utf8JsonStringContentBytes,
} from '../../lambdas/http/lambda-payload.ts';
import { offsetRuns, offsetRunsJson, offsetsJson } from '../../lambdas/http/produce-json.ts';
import { createRouter } from '../../lambdas/http/router.ts';
import type { HttpRequest, HttpResponse } from '../../lambdas/http/types.ts';
import { getServices, setBackendForTests } from '../../lambdas/runtime/lambda-root.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { lambdaContext } from '../support/lambda-context.ts';
import { memoryBackend } from '../support/memory-backend.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const decode = (bytes: Uint8Array | string): string =>
  typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes);

/** The offsets a list of runs stands for, one per record. */
const expand = (runs: readonly OffsetRun[]): RecordOffset[] =>
  runs.flatMap(({ partition, baseOffset, count }) =>
    Array.from({ length: count }, (_, i) => ({ partition, offset: baseOffset + i })),
  );

/** offsetRunsJson must be JSON.stringify({offsets}) and measure its document bytes exactly. */
function expectExactAnswer(runs: readonly OffsetRun[]): string {
  const offsets = expand(runs);
  const { body, documentBytes } = offsetRunsJson(runs);
  const text = decode(body);
  expect(text).toBe(JSON.stringify({ offsets }));
  expect(body.byteLength).toBe(Buffer.byteLength(text));
  expect(documentBytes).toBe(jsonStringContentBytes(text));
  expect(documentBytes).toBe(Buffer.byteLength(JSON.stringify(text)) - 2);
  expect(documentBytes).toBe(utf8JsonStringContentBytes(body));
  return text;
}

// ---------------------------------------------------------------------------------------------------

describe('offsetRunsJson', () => {
  it('counts across 9→10, 99→100 and every power of ten up to 10^15', () => {
    expectExactAnswer([{ partition: 0, baseOffset: 0, count: 12 }]);
    expectExactAnswer([{ partition: 0, baseOffset: 95, count: 10 }]);
    for (let exp = 1; exp <= 15; exp++) {
      for (const back of [1, 2, 3]) {
        expectExactAnswer([{ partition: exp, baseOffset: 10 ** exp - back, count: back + 2 }]);
      }
    }
  });

  it('carries twice within one run (9 → 10 … 99 → 100)', () => {
    expectExactAnswer([{ partition: 3, baseOffset: 8, count: 95 }]);
    expectExactAnswer([{ partition: 3, baseOffset: 998, count: 9_010 }]);
  });

  it('reaches Number.MAX_SAFE_INTEGER', () => {
    const text = expectExactAnswer([
      { partition: 2 ** 31 - 1, baseOffset: Number.MAX_SAFE_INTEGER - 4, count: 5 },
    ]);
    expect(text.endsWith(`"offset":${Number.MAX_SAFE_INTEGER}}]}`)).toBe(true);
  });

  it('writes a short run after a long one: no stale digit of the longer number', () => {
    expectExactAnswer([
      { partition: 0, baseOffset: 999_999_999_998, count: 4 },
      { partition: 1, baseOffset: 7, count: 5 },
      { partition: 0, baseOffset: 0, count: 1 },
      { partition: 1, baseOffset: 99, count: 2 },
      { partition: 1, baseOffset: 5, count: 1 },
    ]);
  });

  it('puts no comma before the first record when leading runs are empty', () => {
    const text = expectExactAnswer([
      { partition: 0, baseOffset: 5, count: 0 },
      { partition: 1, baseOffset: 0, count: 0 },
      { partition: 1, baseOffset: 9, count: 2 },
      { partition: 2, baseOffset: 3, count: 0 },
      { partition: 0, baseOffset: 1, count: 1 },
    ]);
    expect(text.startsWith('{"offsets":[{"partition":1')).toBe(true);
    expect(text).not.toContain(',,');
    expect(text).not.toContain('[,');
    expectExactAnswer([
      { partition: 0, baseOffset: 5, count: 0 },
      { partition: 7, baseOffset: 123, count: 0 },
    ]);
    expect(decode(offsetRunsJson([{ partition: 0, baseOffset: 5, count: 0 }]).body)).toBe('{"offsets":[]}');
  });

  it('keeps runs of one partition apart and in order (not merged, not sorted)', () => {
    const runs = [
      { partition: 0, baseOffset: 10, count: 2 },
      { partition: 1, baseOffset: 0, count: 1 },
      { partition: 0, baseOffset: 12, count: 3 },
      { partition: 0, baseOffset: 3, count: 1 },
    ];
    const text = expectExactAnswer(runs);
    expect((JSON.parse(text) as { offsets: RecordOffset[] }).offsets.map((o) => o.offset)).toEqual([
      10, 11, 0, 12, 13, 14, 3,
    ]);
  });

  it('agrees with JSON.stringify on random runs anywhere in the safe range', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            partition: fc.oneof(fc.nat({ max: 255 }), fc.constant(2 ** 31 - 1), fc.nat()),
            baseOffset: fc.oneof(
              fc.nat({ max: 1_000 }),
              fc
                .integer({ min: 1, max: 15 })
                .chain((exp) => fc.integer({ min: Math.max(0, 10 ** exp - 40), max: 10 ** exp })),
              fc.integer({ min: Number.MAX_SAFE_INTEGER - 200, max: Number.MAX_SAFE_INTEGER - 60 }),
            ),
            count: fc.integer({ min: 0, max: 60 }),
          }),
          { maxLength: 8 },
        ),
        (runs) => {
          expectExactAnswer(runs);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('offsetsJson of any per-record offsets equals JSON.stringify (runs found and written back)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            partition: fc.nat({ max: 3 }),
            offset: fc.oneof(fc.nat({ max: 12 }), fc.integer({ min: 98, max: 101 })),
          }),
          { maxLength: 30 },
        ),
        (offsets) => {
          const { body, documentBytes } = offsetsJson(offsets);
          const text = decode(body);
          expect(text).toBe(JSON.stringify({ offsets }));
          expect(documentBytes).toBe(jsonStringContentBytes(text));
          expect(expand(offsetRuns(offsets))).toEqual(offsets);
        },
      ),
      { numRuns: 400 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------

/** The previous batchesProduceResult (commit 29131f2^), as the reference the runs must match. */
function previousResult(
  topic: string,
  frames: readonly { partition: number; recordCount: number }[],
  results: readonly AppendPartitionResult[],
): { offsets: (RecordOffset | null)[]; missing: number[]; first?: StreamError } {
  const offsets: (RecordOffset | null)[] = [];
  const missing: number[] = [];
  let first: StreamError | undefined;
  frames.forEach(({ partition, recordCount }, i) => {
    const result = results[i] as AppendPartitionResult;
    if (result.error !== undefined) {
      first ??= result.error;
      missing.push(partition);
    }
    for (let r = 0; r < recordCount; r++) {
      offsets.push(result.error === undefined ? { partition, offset: result.baseOffset + r } : null);
    }
  });
  void topic;
  return { offsets, missing, ...(first === undefined ? {} : { first }) };
}

const ok = (partition: number, baseOffset: number): AppendPartitionResult => ({
  topic: 't',
  partition,
  baseOffset,
  logStartOffset: 0,
});
const failed = (partition: number, error: StreamError): AppendPartitionResult => ({
  topic: 't',
  partition,
  error,
});

describe('batchesProduceRuns', () => {
  it('answers one run per frame, frames of one partition kept apart and in body order', () => {
    const frames = [
      { partition: 0, recordCount: 2 },
      { partition: 1, recordCount: 1 },
      { partition: 0, recordCount: 3 },
    ];
    const runs = batchesProduceRuns('t', frames, [ok(0, 8), ok(1, 99), ok(0, 10)]);
    expect(runs).toEqual([
      { partition: 0, baseOffset: 8, count: 2 },
      { partition: 1, baseOffset: 99, count: 1 },
      { partition: 0, baseOffset: 10, count: 3 },
    ]);
    expect(decode(offsetRunsJson(runs).body)).toBe(
      JSON.stringify({ offsets: previousResult('t', frames, [ok(0, 8), ok(1, 99), ok(0, 10)]).offsets }),
    );
  });

  it('throws the first error itself when no frame committed', () => {
    const first = new StreamError('INVALID_REQUEST', 'bad batch', { details: { reason: 'CORRUPT_MESSAGE' } });
    const second = new StreamError('UNAVAILABLE', 'later');
    const frames = [
      { partition: 4, recordCount: 1 },
      { partition: 2, recordCount: 2 },
    ];
    let thrown: unknown;
    try {
      batchesProduceRuns('t', frames, [failed(4, first), failed(2, second)]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBe(first);
  });

  it('throws a partial failure with every record’s offset, null where its frame did not commit', () => {
    const cause = new StreamError('UNAVAILABLE', 'store down');
    const frames = [
      { partition: 0, recordCount: 2 },
      { partition: 1, recordCount: 3 },
      { partition: 0, recordCount: 1 },
    ];
    let thrown: unknown;
    try {
      batchesProduceRuns('t', frames, [ok(0, 9), failed(1, cause), ok(0, 11)]);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StreamError);
    const error = thrown as StreamError;
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.retriable).toBe(true);
    expect(error.message).toContain('partitions 1 did not commit (the others did)');
    expect(error.details?.offsets).toEqual([
      { partition: 0, offset: 9 },
      { partition: 0, offset: 10 },
      null,
      null,
      null,
      { partition: 0, offset: 11 },
    ]);
  });

  it('answers as the previous per-record implementation did, on random frames and outcomes', () => {
    const cause = new StreamError('UNAVAILABLE', 'store down');
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            partition: fc.nat({ max: 3 }),
            recordCount: fc.integer({ min: 0, max: 12 }),
            baseOffset: fc.oneof(fc.nat({ max: 120 }), fc.integer({ min: 999_990, max: 1_000_000 })),
            fails: fc.boolean(),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        (spec) => {
          const frames = spec.map(({ partition, recordCount }) => ({ partition, recordCount }));
          const results = spec.map(({ partition, baseOffset, fails }) =>
            fails ? failed(partition, cause) : ok(partition, baseOffset),
          );
          const previous = previousResult('t', frames, results);
          let runs: OffsetRun[] | undefined;
          let thrown: unknown;
          try {
            runs = batchesProduceRuns('t', frames, results);
          } catch (error) {
            thrown = error;
          }
          if (previous.first === undefined) {
            expect(thrown).toBeUndefined();
            const { body, documentBytes } = offsetRunsJson(runs as OffsetRun[]);
            const expected = JSON.stringify({ offsets: previous.offsets });
            expect(decode(body)).toBe(expected);
            expect(documentBytes).toBe(jsonStringContentBytes(expected));
          } else if (previous.missing.length === frames.length) {
            expect(thrown).toBe(previous.first);
          } else {
            expect((thrown as StreamError).details?.offsets).toEqual(previous.offsets);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------
// The router over a log whose offsets the test chooses.

const TOPIC = { name: 'orders', topicId: 'id-orders', partitions: 4, createdAt: 0 };

class ScriptedLog {
  /** Per frame of the next appendBatches: its base offset, or an error. */
  batchOutcomes: (number | StreamError)[] = [];
  /** What the next produce answers. */
  produceOffsets: RecordOffset[] = [];
  appended: AppendBatchesRequest | undefined;

  async produce(request: ProduceRequest): Promise<ProduceResult> {
    void request;
    return { offsets: this.produceOffsets };
  }

  async appendBatches(request: AppendBatchesRequest): Promise<AppendBatchesResult> {
    this.appended = request;
    return {
      partitions: request.partitions.map(({ topic, partition }, i) => {
        const outcome = this.batchOutcomes[i] ?? 0;
        return typeof outcome === 'number'
          ? { topic, partition, baseOffset: outcome, logStartOffset: 0 }
          : { topic, partition, error: outcome };
      }),
    };
  }
}

function scriptedRouter(maxPayloadBytes?: number) {
  const log = new ScriptedLog();
  const topics = {
    describeTopic: async () => ({ ...TOPIC, partitionStates: [] }),
  } as unknown as TopicService;
  const internal: unknown[] = [];
  const router = createRouter({
    topics,
    log: log as unknown as LogService,
    ...(maxPayloadBytes === undefined ? {} : { maxPayloadBytes }),
    onInternalError: (error) => internal.push(error),
  });
  return { router, log, internal };
}

const record = (value: string): LogRecord => ({
  key: null,
  value: utf8(value),
  timestamp: Date.now(),
  headers: [],
});

function batchesRequest(parts: { partition: number; values: string[] }[]): HttpRequest {
  return {
    method: 'POST',
    path: '/v1/topics/orders/records',
    query: new URLSearchParams(),
    headers: { 'content-type': BATCHES_CONTENT_TYPE },
    body: encodeProduceBatches(
      parts.map(({ partition, values }) => ({ partition, records: values.map(record) })),
    ),
  };
}

function jsonRequest(body: string, headers: Record<string, string> = {}): HttpRequest {
  return {
    method: 'POST',
    path: '/v1/topics/orders/records',
    query: new URLSearchParams(),
    headers: { 'content-type': 'application/json', ...headers },
    body: utf8(body),
  };
}

/** The text of a response, and a check that Lambda carries it as that very text. */
function lambdaText(response: HttpResponse): string {
  const text = decode(response.body);
  const result = toApiGatewayResult(response);
  expect(result.isBase64Encoded ?? false).toBe(false);
  expect(result.body).toBe(text);
  expect(lambdaResponseBytes(response)).toBe(Buffer.byteLength(JSON.stringify(result)));
  return text;
}

describe('the produce route over a scripted log', () => {
  it('answers batches with a text-bytes body equal to JSON.stringify, carried by Lambda as text', async () => {
    const { router, log } = scriptedRouter();
    log.batchOutcomes = [9, 99_999_999_999_998, 0];
    const response = await router(
      batchesRequest([
        { partition: 3, values: ['a', 'b', 'c'] },
        { partition: 0, values: ['d', 'e', 'f', 'g'] },
        { partition: 1, values: ['h'] },
      ]),
    );
    expect(response.status).toBe(200);
    expect(response.textBytes).toBe(true);
    expect(response.headers['content-type']).toContain('application/json');
    const offsets = [
      { partition: 3, offset: 9 },
      { partition: 3, offset: 10 },
      { partition: 3, offset: 11 },
      { partition: 0, offset: 99_999_999_999_998 },
      { partition: 0, offset: 99_999_999_999_999 },
      { partition: 0, offset: 100_000_000_000_000 },
      { partition: 0, offset: 100_000_000_000_001 },
      { partition: 1, offset: 0 },
    ];
    const text = lambdaText(response);
    expect(text).toBe(JSON.stringify({ offsets }));
    expect(response.bodyDocumentBytesAtMost).toBe(jsonStringContentBytes(text));
  });

  it('answers two frames of one partition as two runs, in body order', async () => {
    const { router, log } = scriptedRouter();
    log.batchOutcomes = [5, 7];
    const response = await router(
      batchesRequest([
        { partition: 2, values: ['a', 'b'] },
        { partition: 2, values: ['c'] },
      ]),
    );
    expect(response.status).toBe(200);
    expect(JSON.parse(lambdaText(response))).toEqual({
      offsets: [
        { partition: 2, offset: 5 },
        { partition: 2, offset: 6 },
        { partition: 2, offset: 7 },
      ],
    });
  });

  it('answers a partial failure of batches with per-record offsets and nulls, as a string body', async () => {
    const { router, log } = scriptedRouter();
    log.batchOutcomes = [41, new StreamError('UNAVAILABLE', 'store down')];
    const response = await router(
      batchesRequest([
        { partition: 0, values: ['a', 'b'] },
        { partition: 1, values: ['c'] },
      ]),
    );
    expect(response.status).toBe(503);
    const body = JSON.parse(lambdaText(response)) as { error: { code: string; offsets: unknown[] } };
    expect(body.error.code).toBe('UNAVAILABLE');
    expect(body.error.offsets).toEqual([{ partition: 0, offset: 41 }, { partition: 0, offset: 42 }, null]);
  });

  it('answers batches that all failed with the first frame’s error and reason', async () => {
    const { router, log } = scriptedRouter();
    log.batchOutcomes = [
      new StreamError('INVALID_REQUEST', 'first refusal', { details: { reason: 'CORRUPT_MESSAGE' } }),
      new StreamError('UNAVAILABLE', 'second'),
    ];
    const response = await router(
      batchesRequest([
        { partition: 0, values: ['a'] },
        { partition: 1, values: ['b'] },
      ]),
    );
    const body = JSON.parse(lambdaText(response)) as {
      error: { code: string; message: string; reason: string };
    };
    expect(response.status).toBe(400);
    expect(body.error).toMatchObject({
      code: 'INVALID_REQUEST',
      message: 'first refusal',
      reason: 'CORRUPT_MESSAGE',
    });
  });

  it('answers a JSON produce with the same bytes, whatever order the offsets come in', async () => {
    const { router, log } = scriptedRouter();
    log.produceOffsets = [
      { partition: 1, offset: 9 },
      { partition: 1, offset: 10 },
      { partition: 0, offset: 10 },
      { partition: 1, offset: 11 },
      { partition: 1, offset: 11 },
      { partition: 1, offset: 3 },
    ];
    const response = await router(jsonRequest('{"records":[{"value":"a"}]}', { 'x-request-id': 'r-1' }));
    expect(response.status).toBe(200);
    expect(response.headers['x-request-id']).toBe('r-1');
    const text = lambdaText(response);
    expect(text).toBe(JSON.stringify({ offsets: log.produceOffsets }));
    expect(response.bodyDocumentBytesAtMost).toBe(jsonStringContentBytes(text));
  });

  it('lets through an answer of exactly Lambda’s bound and refuses one byte less of bound', async () => {
    const offsets = Array.from({ length: 4_000 }, (_, i) => ({
      partition: i % 3,
      offset: 999_999_999_990 + i,
    }));
    // The document the answer makes, measured on a router without a tight bound.
    const loose = scriptedRouter();
    loose.log.produceOffsets = offsets;
    const measured = await loose.router(jsonRequest('{"records":[{"value":"a"}]}'));
    expect(measured.status).toBe(200);
    const documentBytes = Buffer.byteLength(JSON.stringify(toApiGatewayResult(measured)));

    const exact = scriptedRouter(documentBytes);
    exact.log.produceOffsets = offsets;
    const fits = await exact.router(jsonRequest('{"records":[{"value":"a"}]}'));
    expect(fits.status).toBe(200);
    expect(decode(fits.body)).toBe(JSON.stringify({ offsets }));

    const tight = scriptedRouter(documentBytes - 1);
    tight.log.produceOffsets = offsets;
    const refused = await tight.router(jsonRequest('{"records":[{"value":"a"}]}'));
    expect(refused.status).toBe(500);
    expect(tight.internal).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------------------
// The produce Lambda on the memory adapters.

function produceEvent(contentType: string, body: Uint8Array): HttpApiEvent {
  const text = contentType === 'application/json';
  return {
    version: '2.0',
    routeKey: 'POST /v1/topics/{topic}/records',
    rawPath: '/v1/topics/orders/records',
    rawQueryString: '',
    headers: { 'content-type': contentType, 'content-length': String(body.byteLength) },
    requestContext: {
      accountId: '123456789012',
      apiId: 'a1b2c3d4e5',
      domainName: 'a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com',
      domainPrefix: 'a1b2c3d4e5',
      http: {
        method: 'POST',
        path: '/v1/topics/orders/records',
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.10',
        userAgent: 'test',
      },
      requestId: 'JKJaZj3OvHcEJhg=',
      routeKey: 'POST /v1/topics/{topic}/records',
      stage: '$default',
      time: '12/Mar/2025:19:03:58 +0000',
      timeEpoch: 1741806238000,
    },
    pathParameters: { topic: 'orders' },
    body: text ? decode(body) : Buffer.from(body).toString('base64'),
    isBase64Encoded: !text,
  } as unknown as HttpApiEvent;
}

describe('the produce Lambda (API Gateway events, memory backend)', () => {
  beforeEach(() => {
    setBackendForTests(memoryBackend());
    // Powertools writes its log lines and metrics to stdout: kept out of the test output.
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    setBackendForTests(undefined);
  });

  const invoke = (event: ApiGatewayEvent) => produceHandler(event, lambdaContext('streambed-produce'));

  it('answers batches, JSON and the compact form as exact JSON text, not base64', async () => {
    await (await getServices()).topics.createTopic('orders', 3);
    // Batches: ten records on partition 1 (offsets 0..9), then eleven more (10..20) crossing 9→10.
    const batches = encodeProduceBatches([
      { partition: 1, records: Array.from({ length: 10 }, (_, i) => record(`v${i}`)) },
      { partition: 2, records: [record('x')] },
    ]);
    const first = await invoke(produceEvent(BATCHES_CONTENT_TYPE, batches));
    expect(first.statusCode).toBe(200);
    expect(first.isBase64Encoded ?? false).toBe(false);
    expect(first.body).toBe(
      JSON.stringify({
        offsets: [
          ...Array.from({ length: 10 }, (_, i) => ({ partition: 1, offset: i })),
          { partition: 2, offset: 0 },
        ],
      }),
    );
    const second = await invoke(
      produceEvent(
        BATCHES_CONTENT_TYPE,
        encodeProduceBatches([{ partition: 1, records: Array.from({ length: 11 }, () => record('y')) }]),
      ),
    );
    expect(second.body).toBe(
      JSON.stringify({ offsets: Array.from({ length: 11 }, (_, i) => ({ partition: 1, offset: 10 + i })) }),
    );
    const json = await invoke(
      produceEvent(
        'application/json',
        utf8('{"records":[{"value":"a","partition":1},{"value":"b","partition":0}]}'),
      ),
    );
    expect(json.statusCode).toBe(200);
    expect(json.isBase64Encoded ?? false).toBe(false);
    expect(json.body).toBe(
      JSON.stringify({
        offsets: [
          { partition: 1, offset: 21 },
          { partition: 0, offset: 0 },
        ],
      }),
    );
    const compact = await invoke(
      produceEvent(
        PRODUCE_CONTENT_TYPE,
        encodeProduceBody([
          { key: null, value: utf8('c'), headers: [], partition: 2 },
          { key: null, value: utf8('d'), headers: [], partition: 2 },
        ]),
      ),
    );
    expect(compact.isBase64Encoded ?? false).toBe(false);
    expect(compact.body).toBe(
      JSON.stringify({
        offsets: [
          { partition: 2, offset: 1 },
          { partition: 2, offset: 2 },
        ],
      }),
    );
  });

  it('refuses two frames of one partition in one request as a partial failure, nulls for them', async () => {
    const services = await getServices();
    await services.topics.createTopic('orders', 3);
    const body = encodeProduceBatches([
      { partition: 1, records: ['a', 'b'].map(record) },
      { partition: 0, records: ['c'].map(record) },
      { partition: 1, records: ['d', 'e', 'f'].map(record) },
    ]);
    const result = await invoke(produceEvent(BATCHES_CONTENT_TYPE, body));
    expect(result.statusCode).toBe(400);
    expect(result.isBase64Encoded ?? false).toBe(false);
    const answer = JSON.parse(result.body ?? '') as { error: { code: string; offsets: unknown[] } };
    expect(answer.error.code).toBe('INVALID_REQUEST');
    expect(answer.error.offsets).toEqual([null, null, { partition: 0, offset: 0 }, null, null, null]);
  });

  it('answers an all-refused batches produce with the refusal as JSON text', async () => {
    await (await getServices()).topics.createTopic('orders', 3);
    const body = encodeProduceBatches([{ partition: 0, records: [record('a')] }]);
    body[body.length - 1] = (body[body.length - 1] as number) ^ 0xff; // breaks the CRC
    const result = await invoke(produceEvent(BATCHES_CONTENT_TYPE, body));
    expect(result.isBase64Encoded ?? false).toBe(false);
    const answer = JSON.parse(result.body ?? '') as { error: { code: string; reason: string } };
    expect(answer.error).toMatchObject({ code: 'INVALID_REQUEST', reason: 'CORRUPT_MESSAGE' });
  });
});

// ---------------------------------------------------------------------------------------------------
// checkRecords without a view per record.

const bytes = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill);

/** What checkRecords should note: key + value + header keys + header values, nulls as 0. */
function expectedSummary(records: readonly LogRecord[]) {
  let largest = { index: -1, bytes: -1 };
  let mostHeaderKeyBytes = { index: -1, bytes: -1 };
  records.forEach((r, index) => {
    const headerBytes = r.headers.reduce(
      (sum, h) => sum + Buffer.byteLength(h.key) + (h.value?.byteLength ?? 0),
      0,
    );
    const size = (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0) + headerBytes;
    if (size > largest.bytes) largest = { index, bytes: size };
    const keys = r.headers.reduce((sum, h) => sum + Buffer.byteLength(h.key) + 8, 0);
    if (keys > mostHeaderKeyBytes.bytes) mostHeaderKeyBytes = { index, bytes: keys };
  });
  return {
    minTimestamp: Math.min(...records.map((r) => r.timestamp)),
    maxTimestamp: Math.max(...records.map((r) => r.timestamp)),
    largest,
    mostHeaderKeyBytes,
  };
}

const NOW = 1_700_000_000_000;

describe('checkRecords', () => {
  const records: LogRecord[] = [
    { key: null, value: null, timestamp: NOW, headers: [] },
    { key: new Uint8Array(0), value: new Uint8Array(0), timestamp: NOW + 5, headers: [] },
    {
      key: bytes(3),
      value: null,
      timestamp: NOW - 2,
      headers: [
        { key: 'é', value: null },
        { key: '', value: new Uint8Array(0) },
        { key: 'k', value: bytes(4) },
      ],
    },
    { key: null, value: bytes(8), timestamp: NOW + 1, headers: [{ key: 'ab', value: null }] },
    { key: bytes(2), value: bytes(2), timestamp: NOW, headers: [{ key: '日本', value: bytes(1) }] },
  ];

  it('notes the sizes and timestamps key, value, header keys and header values make, nulls as 0', () => {
    const batch = encodeRecordBatch(records);
    expect(checkRecords(batch, readBatchHeader(batch))).toEqual(expectedSummary(records));
  });

  it('keeps the first of equally large records', () => {
    const tie: LogRecord[] = [
      { key: null, value: bytes(1), timestamp: NOW, headers: [] },
      { key: bytes(3), value: null, timestamp: NOW, headers: [] },
      { key: null, value: bytes(2), timestamp: NOW, headers: [{ key: 'x', value: null }] },
      { key: bytes(1), value: bytes(1), timestamp: NOW, headers: [{ key: '', value: bytes(1) }] },
    ];
    const batch = encodeRecordBatch(tie);
    expect(checkRecords(batch, readBatchHeader(batch)).largest).toEqual({ index: 1, bytes: 3 });
  });

  it('agrees with the decoded records on random batches (null and empty kept apart when decoding)', () => {
    const field = fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 6 }));
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: field,
            value: field,
            timestamp: fc.integer({ min: NOW - 1000, max: NOW + 1000 }),
            headers: fc.array(fc.record({ key: fc.string({ maxLength: 4 }), value: field }), {
              maxLength: 3,
            }),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        (random) => {
          const batch = encodeRecordBatch(random);
          expect(checkRecords(batch, readBatchHeader(batch))).toEqual(expectedSummary(random));
          const decoded = decodeRecordBatch(batch).records;
          decoded.forEach((r, i) => {
            const sent = random[i] as LogRecord;
            expect(r.key === null ? null : [...r.key]).toEqual(sent.key === null ? null : [...sent.key]);
            expect(r.value === null ? null : [...r.value]).toEqual(
              sent.value === null ? null : [...sent.value],
            );
            expect(r.headers.map((h) => [h.key, h.value === null ? null : [...h.value]])).toEqual(
              sent.headers.map((h) => [h.key, h.value === null ? null : [...h.value]]),
            );
          });
        },
      ),
      { numRuns: 200 },
    );
  });

  /** A one-record batch with a null key, value "ab", and one header k=null; the section's bytes. */
  function oneRecordBatch(): { batch: Uint8Array; at: (field: 'key' | 'value' | 'headerValue') => number } {
    const batch = encodeRecordBatch([
      { key: null, value: utf8('ab'), timestamp: NOW, headers: [{ key: 'k', value: null }] },
    ]);
    // Section from byte 61: length, attributes, timestampDelta 0, offsetDelta 0, key length (-1),
    // value length (2) "ab", header count 1, header key length 1 "k", header value length (-1).
    const section = 61;
    const offsets = { key: section + 4, value: section + 5, headerValue: section + 11 };
    return { batch, at: (field) => offsets[field] };
  }

  it('reads the hand-made record as planned (the corruption tests below patch it)', () => {
    const { batch, at } = oneRecordBatch();
    expect(batch[at('key')]).toBe(1); // zigzag(-1)
    expect(batch[at('value')]).toBe(4); // zigzag(2)
    expect(batch[at('headerValue')]).toBe(1); // zigzag(-1)
    expect(checkRecords(batch, readBatchHeader(batch)).largest).toEqual({ index: 0, bytes: 3 });
  });

  it.each([
    ['key', 3, 'record 0 key length -2 does not fit the record'],
    ['key', 0x78, 'record 0 key length 60 does not fit the record'],
    ['value', 3, 'record 0 value length -2 does not fit the record'],
    ['value', 0x78, 'record 0 value length 60 does not fit the record'],
    ['headerValue', 3, 'record 0 header 0 length -2 does not fit the record'],
    ['headerValue', 4, 'record 0 header 0 length 2 does not fit the record'],
  ] as const)(
    'refuses a %s length of zigzag byte %i with the same message when checking and decoding',
    (field, byte, message) => {
      const { batch, at } = oneRecordBatch();
      batch[at(field)] = byte;
      new DataView(batch.buffer, batch.byteOffset).setUint32(17, crc32c(batch.subarray(21)));
      const header = readBatchHeader(batch);
      expect(() => checkRecords(batch, header)).toThrow(message);
      expect(() => decodeRecordBatch(batch)).toThrow(message);
    },
  );
});

// ---------------------------------------------------------------------------------------------------
// Record limits end to end (local server: the node HTTP path, too).

describe('record limits of a produce of batches (local server)', () => {
  let server: LocalServer;
  beforeEach(async () => {
    server = await startLocalServer({ port: 0, memory: true });
  });
  afterEach(async () => server.close());

  async function call(path: string, init: { body: Uint8Array | string; type: string }) {
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      body: init.body,
      headers: { 'content-type': init.type },
    });
    const raw = new Uint8Array(await response.arrayBuffer());
    return {
      status: response.status,
      length: response.headers.get('content-length'),
      raw,
      body: JSON.parse(decode(raw)) as { error?: { code: string; message: string } },
    };
  }

  it('reports RECORD_TOO_LARGE with the largest record’s index and size, nulls counted as 0', async () => {
    const created = await call('/v1/topics', {
      body: JSON.stringify({ name: 'limits', partitions: 2, config: { 'max.message.bytes': 100 } }),
      type: 'application/json',
    });
    expect(created.status).toBe(201);
    const records: LogRecord[] = [
      { key: null, value: bytes(100), timestamp: Date.now(), headers: [{ key: 'h', value: null }] }, // 101
      { key: bytes(50), value: null, timestamp: Date.now(), headers: [{ key: 'ab', value: bytes(60) }] }, // 112
      { key: null, value: null, timestamp: Date.now(), headers: [] },
    ];
    const large = await call('/v1/topics/limits/records', {
      body: encodeProduceBatches([{ partition: 1, records }]),
      type: BATCHES_CONTENT_TYPE,
    });
    expect(large.status).toBe(413);
    expect(large.body.error).toMatchObject({ code: 'RECORD_TOO_LARGE' });
    expect(large.body.error?.message).toContain(
      'record 1 is 112 bytes; topic limits allows 100 (max.message.bytes)',
    );

    // At the limit exactly (nulls count 0): accepted, answered with exact JSON bytes.
    const fits: LogRecord[] = [
      { key: null, value: bytes(99), timestamp: Date.now(), headers: [{ key: 'h', value: null }] },
      { key: new Uint8Array(0), value: new Uint8Array(0), timestamp: Date.now(), headers: [] },
    ];
    const accepted = await call('/v1/topics/limits/records', {
      body: encodeProduceBatches([
        { partition: 1, records: fits },
        { partition: 0, records: fits },
      ]),
      type: BATCHES_CONTENT_TYPE,
    });
    expect(accepted.status).toBe(200);
    const text = JSON.stringify({
      offsets: [
        { partition: 1, offset: 0 },
        { partition: 1, offset: 1 },
        { partition: 0, offset: 0 },
        { partition: 0, offset: 1 },
      ],
    });
    expect(decode(accepted.raw)).toBe(text);
    expect(accepted.length).toBe(String(Buffer.byteLength(text)));
  });

  it('reports header keys beyond the limit with the index of the record that has the most', async () => {
    await call('/v1/topics', {
      body: JSON.stringify({ name: 'hkeys', partitions: 1 }),
      type: 'application/json',
    });
    const many = Array.from({ length: 3 }, (_, i) => ({ key: `${i}`.repeat(1500), value: null }));
    const records: LogRecord[] = [
      { key: null, value: bytes(1), timestamp: Date.now(), headers: [{ key: 'a', value: null }] },
      { key: null, value: null, timestamp: Date.now(), headers: many },
    ];
    const refused = await call('/v1/topics/hkeys/records', {
      body: encodeProduceBatches([{ partition: 0, records }]),
      type: BATCHES_CONTENT_TYPE,
    });
    expect(refused.status).toBe(413);
    expect(refused.body.error?.message).toContain(
      `record 1's header keys take ${3 * 1508} bytes (UTF-8, plus 8 per header); the limit is ${MAX_HEADER_KEY_BYTES}`,
    );
  });
});
