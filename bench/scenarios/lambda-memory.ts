/**
 * Does every HTTP Lambda fit its 512 MB with a maximal request (DESIGN §10)? Measured on the code as
 * deployed: the produce, fetch and admin bundles are built by the CDK construct's own bundling
 * (test/support/lambda-bundles.ts), and each function runs in a fresh `node` process of its own — one
 * function per container, as on Lambda — with the function's environment from the synthesized
 * template, the V8 heap limits Lambda's Node.js runtime derives from the memory size, and DynamoDB and
 * S3 behind emulators. A small driver (bench/lambda-memory-child.ts) invokes the handler with API
 * Gateway HTTP API events the way the Lambda runtime does and reports the process's memory.
 *
 * The maximal requests: a binary produce body of exactly MAX_PRODUCE_BODY_BYTES (the largest a client
 * should build, where the SDK's batching stops) holding MAX_RECORDS_PER_REQUEST records, base64 in the
 * event as API Gateway delivers binary bodies; and binary fetches with max_bytes = MAX_FETCH_MAX_BYTES
 * over those records. A fetch always serves its first batch whole, and one maximal produce request is
 * one batch, so each fetch answers with that whole batch — more than max_bytes, the largest response a
 * fetch can give.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { build } from 'esbuild';
import type { ProduceRecord } from '../../client/wire/binary.ts';
import {
  BATCHES_CONTENT_TYPE,
  encodeProduceBody,
  NEXT_OFFSET_HEADER,
  PRODUCE_CONTENT_TYPE,
} from '../../client/wire/binary.ts';
import {
  MAX_FETCH_MAX_BYTES,
  MAX_PRODUCE_BODY_BYTES,
  MAX_RECORDS_PER_REQUEST,
} from '../../client/wire/limits.ts';
import { ensureTable } from '../../lambdas/adapters/dynamo-meta-store.ts';
import { createS3Client, ensureBucket } from '../../lambdas/adapters/s3-object-store.ts';
import type { HttpApiEvent } from '../../lambdas/http/apigw.ts';
import { buildLambdaBundles, type LambdaBundle } from '../../test/support/lambda-bundles.ts';
import type { ChildMessage, ChildPlan, ChildReport } from '../lambda-memory-child.ts';
import { median, round } from '../stats.ts';

/** The memory every Streambed function is deployed with (lib/streambed.ts). */
export const LAMBDA_MEMORY_MB = 512;

export interface LambdaMemoryOptions {
  dynamoEndpoint: string;
  s3Endpoint: string;
  /** Invocations of each measured function; default 5. */
  requests?: number;
  progress?: (message: string) => void;
}

/** The memory peaks of the function's process, as its driver measured them (see ChildReport). */
type MemoryPeaks = Pick<
  ChildReport,
  | 'peakRssMb'
  | 'peakRssSource'
  | 'resourceUsageMaxRssMb'
  | 'sampledPeakRssMb'
  | 'peakHeapUsedMb'
  | 'peakArrayBuffersMb'
>;

export interface LambdaFunctionMemory extends MemoryPeaks {
  name: 'produce' | 'fetch';
  /** The largest request body, as the client sent it (base64 decoded). */
  requestBytes: number;
  /** The largest event document (what the Lambda invoke payload limit of 6 MB applies to). */
  eventBytes: number;
  /** The largest response body, as the client receives it. */
  responseBytes: number;
  /** The largest serialized result (what the 6 MB response limit applies to). */
  payloadBytes: number;
  /** RSS after the bundle's import (Lambda's init), before the first request. */
  initRssMb: number;
  initHeapUsedMb: number;
  /** memoryLimitMb − peakRssMb. */
  headroomMb: number;
  fits: boolean;
  p50Ms: number;
  /** The first invocation: the handler builds its AWS clients and services then. */
  firstMs: number;
  maxMs: number;
  invocations: number;
  /** Peak RSS so far after each invocation, in order: where the high-water mark was reached. */
  maxRssMbAfterEach: number[];
}

export interface LambdaMemoryResult {
  memoryLimitMb: typeof LAMBDA_MEMORY_MB;
  functions: LambdaFunctionMemory[];
  /** Bundle (index.mjs) sizes by function. */
  bundleBytes: Record<string, number>;
  /** The admin function's process, which created the topic (a small request, for comparison). */
  admin: { peakRssMb: number; initRssMb: number };
  recordsPerProduce: number;
  runtime: { node: string; arch: string; execArgv: string[]; nodeOptions: string };
  buildMs: number;
  runMs: number;
  note: string;
}

const MEASURED = ['produce', 'fetch'] as const;
const TABLE = 'streambed-lambda-memory';
const BUCKET = 'streambed-lambda-memory';
const REGION = 'us-east-1';
/** s3rver's fixed credentials; DynamoDB Local accepts any. */
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const SAMPLE_INTERVAL_MS = 5;
const CHILD_TIMEOUT_MS = 300_000;
/** Output of a child kept for error messages. */
const OUTPUT_TAIL_CHARS = 8_000;
const CHILD_SOURCE = join(import.meta.dirname, '..', 'lambda-memory-child.ts');

/**
 * The V8 heap limits the Lambda Node.js runtime's bootstrap passes for a memory size: a tenth of the
 * memory is new space (half of it one semi-space), the rest old space.
 */
export function lambdaHeapFlags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [`--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memoryMb - newSpace}`];
}

/** Binary-form bytes of one record with a key, a value and one header (client/wire/binary.ts). */
const RECORD_FRAME_BYTES = 4 + 8 + 4 + 4 + 4;
const HEADER_FRAME_BYTES = 4 + 4;
const KEY_BYTES = 12;
const HEADER_KEY = 'trace';
const HEADER_VALUE_BYTES = 8;
const FIXED_RECORD_BYTES =
  RECORD_FRAME_BYTES + KEY_BYTES + HEADER_FRAME_BYTES + HEADER_KEY.length + HEADER_VALUE_BYTES;

/**
 * `count` keyed records with one header and random (incompressible) values, sized so that their
 * binary produce body is exactly `bodyBytes`: the values share the bytes left after the framing, the
 * first ones one byte more when the division leaves a remainder.
 */
export function maximalProduceRecords(
  bodyBytes: number = MAX_PRODUCE_BODY_BYTES,
  count: number = MAX_RECORDS_PER_REQUEST,
): ProduceRecord[] {
  const valueBytes = bodyBytes - 4 - count * FIXED_RECORD_BYTES;
  if (count < 1 || valueBytes < 0) throw new RangeError(`${count} records do not fit in ${bodyBytes} bytes`);
  const base = Math.floor(valueBytes / count);
  const longer = valueBytes % count;
  const random = randomBytes(valueBytes + count * HEADER_VALUE_BYTES);
  let at = 0;
  const take = (bytes: number): Uint8Array => {
    const slice = random.subarray(at, at + bytes);
    at += bytes;
    return slice;
  };
  const utf8 = new TextEncoder();
  return Array.from({ length: count }, (_, i) => ({
    key: utf8.encode(`key-${String(i).padStart(KEY_BYTES - 4, '0')}`),
    value: take(base + (i < longer ? 1 : 0)),
    headers: [{ key: HEADER_KEY, value: take(HEADER_VALUE_BYTES) }],
  }));
}

/** A request as the client sends it through API Gateway. */
export interface ApiRequest {
  method: 'GET' | 'POST';
  /** The route as API Gateway matched it, e.g. `/v1/topics/{topic}/records`. */
  route: string;
  pathParameters?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Text is sent as is; bytes are base64-encoded, as API Gateway delivers binary bodies. */
  body?: string | Uint8Array;
  requestId: string;
}

/**
 * The HTTP API (payload format 2.0) event API Gateway sends for a request on the `$default` stage,
 * under IAM auth as the Streambed stack deploys it. Path parameters are filled into the route.
 */
export function httpApiEvent(request: ApiRequest): HttpApiEvent {
  const params = request.pathParameters ?? {};
  const rawPath = request.route.replace(/\{(\w+)\}/g, (_match, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for {${name}} in ${request.route}`);
    return encodeURIComponent(value);
  });
  const rawQueryString = new URLSearchParams(request.query ?? {}).toString();
  const binary = request.body instanceof Uint8Array;
  const body =
    request.body === undefined
      ? undefined
      : typeof request.body === 'string'
        ? request.body
        : Buffer.from(request.body.buffer, request.body.byteOffset, request.body.byteLength).toString(
            'base64',
          );
  const bodyBytes =
    request.body === undefined
      ? 0
      : typeof request.body === 'string'
        ? Buffer.byteLength(request.body)
        : request.body.byteLength;
  const host = 'a1b2c3d4e5.execute-api.us-east-1.amazonaws.com';
  const userAgent = 'streambed-bench/lambda-memory';
  const now = new Date();
  const routeKey = `${request.method} ${request.route}`;
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers: {
      accept: 'application/json',
      host,
      'user-agent': userAgent,
      'x-amzn-trace-id': `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${request.requestId.padEnd(24, '0').slice(0, 24)}`,
      'x-forwarded-for': '203.0.113.10',
      'x-forwarded-port': '443',
      'x-forwarded-proto': 'https',
      ...(request.body === undefined ? {} : { 'content-length': String(bodyBytes) }),
      ...request.headers,
    },
    ...(request.query === undefined ? {} : { queryStringParameters: { ...request.query } }),
    ...(request.pathParameters === undefined ? {} : { pathParameters: { ...request.pathParameters } }),
    requestContext: {
      accountId: '123456789012',
      apiId: 'a1b2c3d4e5',
      authorizer: {
        iam: {
          accessKey: 'AKIAIOSFODNN7EXAMPLE',
          accountId: '123456789012',
          callerId: 'AIDAJQABLZS4A3QDU576Q',
          cognitoIdentity: null,
          principalOrgId: null,
          userArn: 'arn:aws:iam::123456789012:user/streambed-bench',
          userId: 'AIDAJQABLZS4A3QDU576Q',
        },
      },
      domainName: host,
      domainPrefix: 'a1b2c3d4e5',
      http: {
        method: request.method,
        path: decodeURIComponent(rawPath),
        protocol: 'HTTP/1.1',
        sourceIp: '203.0.113.10',
        userAgent,
      },
      requestId: request.requestId,
      routeKey,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: binary,
  } as HttpApiEvent;
}

const PRODUCE_ROUTE = '/v1/topics/{topic}/records';
const FETCH_ROUTE = '/v1/topics/{topic}/partitions/{partition}/records';

function createTopicEvent(topic: string): HttpApiEvent {
  return httpApiEvent({
    method: 'POST',
    route: '/v1/topics',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: topic, partitions: 1 }),
    requestId: 'create-topic',
  });
}

function produceEvent(topic: string, body: Uint8Array): HttpApiEvent {
  return httpApiEvent({
    method: 'POST',
    route: PRODUCE_ROUTE,
    pathParameters: { topic },
    headers: { 'content-type': PRODUCE_CONTENT_TYPE },
    body,
    requestId: 'produce',
  });
}

function fetchEvent(topic: string, offset: number, index: number): HttpApiEvent {
  return httpApiEvent({
    method: 'GET',
    route: FETCH_ROUTE,
    pathParameters: { topic, partition: '0' },
    query: { offset: String(offset), max_bytes: String(MAX_FETCH_MAX_BYTES) },
    headers: { accept: BATCHES_CONTENT_TYPE },
    requestId: `fetch-${index}`,
  });
}

/** The driver as plain JavaScript for `node` (it has type imports only, so nothing is bundled). */
async function compileChild(dir: string): Promise<string> {
  const outfile = join(dir, 'lambda-memory-child.mjs');
  // Bundled: the driver and the small bench module it imports (peak-rss.ts), nothing of the handler's.
  await build({
    entryPoints: [CHILD_SOURCE],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    logLevel: 'error',
  });
  return outfile;
}

/** Creates the table and the bucket, outside the measured processes (the stack creates them on AWS). */
async function ensureStorage(options: LambdaMemoryOptions): Promise<void> {
  const dynamo = new DynamoDBClient({
    endpoint: options.dynamoEndpoint,
    region: REGION,
    credentials: CREDENTIALS,
  });
  const s3 = createS3Client({
    endpoint: options.s3Endpoint,
    region: REGION,
    credentials: CREDENTIALS,
    forcePathStyle: true,
  });
  try {
    await ensureTable(dynamo, TABLE);
    await ensureBucket(s3, BUCKET);
  } finally {
    dynamo.destroy();
    s3.destroy();
  }
}

interface ChildRun {
  driver: string;
  name: string;
  bundle: LambdaBundle;
  events: string[];
  options: LambdaMemoryOptions;
}

/** The deployed NODE_OPTIONS, plus the legacy OpenSSL provider the emulator setup asks for. */
const nodeOptionsOf = (bundle: LambdaBundle): string =>
  [bundle.environment.NODE_OPTIONS, '--openssl-legacy-provider'].filter(Boolean).join(' ');

/** The process environment of one function: its template's, the resources, the emulators, Lambda's own. */
function lambdaEnvironment(run: ChildRun): Record<string, string> {
  return {
    ...run.bundle.environment,
    STREAMBED_TABLE: TABLE,
    STREAMBED_BUCKET: BUCKET,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    // The SDK takes these endpoints from the environment; a loopback IP makes S3 use path-style URLs.
    AWS_ENDPOINT_URL_DYNAMODB: run.options.dynamoEndpoint,
    AWS_ENDPOINT_URL_S3: run.options.s3Endpoint,
    NODE_OPTIONS: nodeOptionsOf(run.bundle),
    AWS_LAMBDA_FUNCTION_NAME: `streambed-${run.name}`,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(run.bundle.memorySizeMb),
    // The pinned SDK's notice about Node 20 (the deployed runtime is newer).
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

/** Runs one function in a fresh `node` process; resolves with its report, rejects with its error. */
function runChild(run: ChildRun): Promise<ChildReport> {
  const plan: ChildPlan = {
    bundle: run.bundle.file,
    functionName: `streambed-${run.name}`,
    memoryLimitMb: run.bundle.memorySizeMb,
    events: run.events,
    sampleIntervalMs: SAMPLE_INTERVAL_MS,
  };
  const child: ChildProcess = fork(run.driver, [JSON.stringify(plan)], {
    execArgv: lambdaHeapFlags(run.bundle.memorySizeMb),
    env: lambdaEnvironment(run),
    // The handler's logs (one access log line and one EMF document per invocation) are drained and
    // kept only as a tail for error messages.
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return new Promise<ChildReport>((resolve, reject) => {
    let message: ChildMessage | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${run.name} did not finish within ${CHILD_TIMEOUT_MS} ms\n${output}`));
    }, CHILD_TIMEOUT_MS);
    child.on('message', (received: ChildMessage) => {
      message = received;
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (message?.type === 'report' && code === 0) resolve(message);
      else if (message?.type === 'error') reject(new Error(`${run.name}: ${message.message}\n${output}`));
      else
        reject(new Error(`${run.name} exited (code ${code}, signal ${signal}) without a report\n${output}`));
    });
  });
}

function summarizeFunction(name: LambdaFunctionMemory['name'], report: ChildReport): LambdaFunctionMemory {
  const calls = report.invocations;
  const max = (pick: (call: (typeof calls)[number]) => number): number => Math.max(...calls.map(pick));
  const times = calls.map((call) => call.ms);
  return {
    name,
    requestBytes: max((call) => call.requestBytes),
    eventBytes: max((call) => call.eventBytes),
    responseBytes: max((call) => call.responseBytes),
    payloadBytes: max((call) => call.payloadBytes),
    peakRssMb: report.peakRssMb,
    peakRssSource: report.peakRssSource,
    resourceUsageMaxRssMb: report.resourceUsageMaxRssMb,
    sampledPeakRssMb: report.sampledPeakRssMb,
    peakHeapUsedMb: report.peakHeapUsedMb,
    peakArrayBuffersMb: report.peakArrayBuffersMb,
    initRssMb: report.initRssMb,
    initHeapUsedMb: report.initHeapUsedMb,
    headroomMb: round(LAMBDA_MEMORY_MB - report.peakRssMb),
    fits: report.peakRssMb <= LAMBDA_MEMORY_MB,
    p50Ms: round(median(times)),
    firstMs: round(times[0] ?? Number.NaN),
    maxMs: round(Math.max(...times)),
    invocations: calls.length,
    maxRssMbAfterEach: calls.map((call) => call.maxRssMbAfter),
  };
}

/** Each produce request appends its records to the one partition, right after the previous request's. */
function checkProduced(report: ChildReport, recordsPerRequest: number): void {
  report.invocations.forEach((call, i) => {
    const first = `{"offsets":[{"partition":0,"offset":${i * recordsPerRequest}}`;
    if (!call.bodyHead.startsWith(first)) {
      throw new Error(
        `produce ${i}: expected a response starting ${first}, got ${call.bodyHead.slice(0, 80)}`,
      );
    }
  });
}

/** Each fetch served the whole batch of one produce request, and only that. */
function checkFetched(report: ChildReport, offsets: readonly number[], recordsPerRequest: number): void {
  report.invocations.forEach((call, i) => {
    const next = Number(call.headers[NEXT_OFFSET_HEADER]);
    const expected = (offsets[i] ?? 0) + recordsPerRequest;
    if (next !== expected || call.responseBytes === 0) {
      throw new Error(
        `fetch ${i}: ${call.responseBytes} bytes up to offset ${next}, expected up to ${expected}`,
      );
    }
  });
}

async function writeEvent(dir: string, name: string, event: HttpApiEvent): Promise<string> {
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(event));
  return file;
}

export async function runLambdaMemory(options: LambdaMemoryOptions): Promise<LambdaMemoryResult> {
  const requests = options.requests ?? 5;
  if (!Number.isInteger(requests) || requests < 1)
    throw new RangeError(`requests must be ≥ 1, got ${requests}`);
  const progress = options.progress ?? (() => undefined);
  const work = await mkdtemp(join(tmpdir(), 'streambed-lambda-memory-'));
  try {
    progress('lambda-memory: building the produce, fetch and admin bundles (CDK bundling, local esbuild)');
    const buildStarted = performance.now();
    const bundles = buildLambdaBundles(join(work, 'assembly'), ['produce', 'fetch', 'admin']);
    const driver = await compileChild(work);
    const buildMs = performance.now() - buildStarted;
    const bundleOf = (name: string): LambdaBundle => {
      const bundle = bundles[name];
      if (bundle === undefined) throw new Error(`no ${name} bundle`);
      if (bundle.memorySizeMb !== LAMBDA_MEMORY_MB) {
        throw new Error(
          `${name} is deployed with ${bundle.memorySizeMb} MB; this scenario measures ${LAMBDA_MEMORY_MB} MB`,
        );
      }
      return bundle;
    };

    const runStarted = performance.now();
    await ensureStorage(options);
    const topic = `lambda-memory-${Date.now().toString(36)}`;
    const run = (name: string, events: string[]): Promise<ChildReport> =>
      runChild({ driver, name, bundle: bundleOf(name), events, options });

    progress(`lambda-memory: admin creates topic ${topic}`);
    const admin = await run('admin', [await writeEvent(work, 'create-topic', createTopicEvent(topic))]);

    const records = maximalProduceRecords();
    const body = encodeProduceBody(records);
    const produceFile = await writeEvent(work, 'produce', produceEvent(topic, body));
    progress(
      `lambda-memory: produce × ${requests}, ${body.byteLength} bytes and ${records.length} records each`,
    );
    const produce = await run(
      'produce',
      Array.from({ length: requests }, () => produceFile),
    );
    checkProduced(produce, records.length);

    const offsets = Array.from({ length: requests }, (_, i) => i * records.length);
    const fetchFiles = await Promise.all(
      offsets.map((offset, i) => writeEvent(work, `fetch-${i}`, fetchEvent(topic, offset, i))),
    );
    progress(`lambda-memory: fetch × ${requests}, max_bytes ${MAX_FETCH_MAX_BYTES}`);
    const fetch = await run('fetch', fetchFiles);
    checkFetched(fetch, offsets, records.length);

    const reports: Record<(typeof MEASURED)[number], ChildReport> = { produce, fetch };
    return {
      memoryLimitMb: LAMBDA_MEMORY_MB,
      functions: MEASURED.map((name) => summarizeFunction(name, reports[name])),
      bundleBytes: Object.fromEntries(
        Object.entries(bundles).map(([name, b]) => [name, statSync(b.file).size]),
      ),
      admin: { peakRssMb: admin.peakRssMb, initRssMb: admin.initRssMb },
      recordsPerProduce: records.length,
      runtime: {
        node: produce.nodeVersion,
        arch: produce.arch,
        execArgv: produce.execArgv,
        nodeOptions: nodeOptionsOf(bundleOf('produce')),
      },
      buildMs: round(buildMs),
      runMs: round(performance.now() - runStarted),
      note:
        'Each function ran alone in a fresh node process on its deployed bundle, with its template environment and ' +
        "the heap limits of Lambda's Node.js runtime for 512 MB; peak = the kernel's RSS high-water mark of that " +
        `process since exec (${produce.peakRssSource}). It climbs over the first invocations (maxRssMbAfterEach) as ` +
        'the heap and the allocator grow; more requests show where it levels. ' +
        `Local ${produce.nodeVersion} on ${produce.arch}, Lambda runs the stack's Node.js runtime on arm64. Not measured ` +
        "here: Lambda's own runtime client, and TLS to AWS (the emulators speak plain HTTP). " +
        'A fetch serves its first batch whole, so over maximal produce batches its response exceeds max_bytes.',
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
