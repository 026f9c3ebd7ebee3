/**
 * HTTP fuzzing (issue 9) over a real local server (embedded backend, in memory).
 *
 * Properties:
 * 1. Any request — methods, paths built from the real route templates with fuzzed segments, query
 *    strings, headers, bodies (random bytes and JSON, near-valid domain bodies, deeply nested and huge
 *    payloads, truncated JSON) — answers below 500 and in time; every 4xx carries the documented error
 *    shape (Confluent's under /schema-registry) with nothing internal in it; and a rejected request
 *    leaves the observable state (topics, groups, registry) unchanged.
 * 2. Batches of requests that are all guaranteed to be rejected leave that state unchanged.
 * 3. A 2xx answer to a fuzzed produce is followed by exactly those records on fetch.
 * 4. The same rules hold for requests written raw on a socket (no client-side URL normalization:
 *    `..` segments, absolute-form targets, bodies on GET and HEAD).
 *
 * Long polls: a generated `max_wait_ms` is either 0–100 or beyond the 20 000 limit (a 400), so no
 * request legitimately waits longer than 100 ms; anything not answered within 10 s is a hang.
 *
 * Seeds are fixed; `FUZZ_SEED=<n>` overrides them and `FUZZ_RUNS=<factor>` scales the run counts.
 */
import { Buffer } from 'node:buffer';
import { METHODS } from 'node:http';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeProduceBody } from '../../client/wire/binary.ts';
import {
  MAX_EDGE_BODY_BYTES,
  MAX_LAMBDA_PAYLOAD_BYTES,
  MAX_MESSAGE_BYTES,
} from '../../client/wire/limits.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';

// ---------------------------------------------------------------------------------------------------
// Knobs.

const REQUEST_TIMEOUT_MS = 10_000;
const RUN_FACTOR = Number(process.env.FUZZ_RUNS ?? 1);
const runs = (n: number): number => Math.max(1, Math.round(n * RUN_FACTOR));
/**
 * Every input that once found a bug is back in the generators now that the bugs are fixed (each also
 * has its own regression test below). `FUZZ_EXCLUDE_FIXED=1` leaves those inputs out again, to tell
 * a new failure from an old one.
 */
const KNOWN_BUGS_EXCLUDED = process.env.FUZZ_EXCLUDE_FIXED === '1';
const seed = (n: number): number => (process.env.FUZZ_SEED === undefined ? n : Number(process.env.FUZZ_SEED));

/** fast-check's report already names seed, path and counterexample; this adds the seed up front. */
async function check<T>(name: string, property: fc.IAsyncPropertyWithHooks<T>, params: fc.Parameters<T>) {
  const details = await fc.check(property, params);
  if (details.failed) {
    const cause =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(`${name}: seed ${details.seed}\n${cause}\n${fc.defaultReportMessage(details)}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// The contract being checked.

const API_ERROR_STATUSES: Readonly<Record<string, readonly number[]>> = {
  // 404/405/415 are the router's own INVALID_REQUEST answers (docs/api.md, Routing errors).
  INVALID_REQUEST: [400, 404, 405, 415],
  UNAUTHORIZED: [401],
  TOPIC_NOT_FOUND: [404],
  PARTITION_NOT_FOUND: [404],
  OFFSET_OUT_OF_RANGE: [416],
  RECORD_TOO_LARGE: [413],
  TOPIC_ALREADY_EXISTS: [409],
  LEASE_LOST: [409],
  CONFLICT: [409],
  THROTTLED: [429],
  UNAVAILABLE: [503],
  INTERNAL: [500],
};
const RETRIABLE_CODES = new Set(['CONFLICT', 'THROTTLED', 'UNAVAILABLE']);

/** What must never reach a client: stack traces, source paths, storage and class names, key layouts. */
const LEAK_MARKERS: readonly (string | RegExp)[] = [
  '    at ',
  /\n\s+at /,
  /\bat (async )?[\w.<>]+ \(/,
  /\.(ts|js|mjs|cjs):\d+/,
  /Error:[^\n]*\n/,
  'node_modules',
  'file://',
  'lambdas/',
  /dynamo/i,
  /sqlite/i,
  'better-sqlite3',
  'StreamError',
  'WireError',
  'HttpError',
  'ConditionFailed',
  'MetaStore',
  'ObjectStore',
  'ZodError',
  'TypeError',
  'RangeError',
  'ReferenceError',
  'Maximum call stack',
  'Cannot read properties',
  'is not a function',
  '[object Object]',
  'STREAMBED_TABLE',
  'STREAMBED_BUCKET',
  'topic#',
  'part#',
  'group#',
  'subject#',
  'schema#',
  'schemaFingerprint#',
  'deleted-topics',
  '.sbo',
];

function markerIn(marker: string | RegExp, text: string): boolean {
  return typeof marker === 'string' ? text.includes(marker) : marker.test(text);
}

/** Paths the Schema Registry dialect owns (router.ts `owns`): errors in Confluent's shape there. */
function isRegistryPath(wirePath: string): boolean {
  return wirePath === '/schema-registry' || wirePath.startsWith('/schema-registry/');
}

interface Answer {
  status: number;
  headers: Readonly<Record<string, string>>;
  body: string;
}

function tryParseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The problems with an answer, or an empty list. `requestText` is everything the client sent, so an
 * error message that merely echoes the client's own input (a topic name spelled `DynamoDB`) is not
 * taken for a leak.
 */
function problemsOf(method: string, wirePath: string, answer: Answer, requestText: string): string[] {
  const problems: string[] = [];
  if (answer.status >= 500) problems.push(`status ${answer.status}`);
  if (answer.status < 400 || method === 'HEAD') return problems;
  const contentType = answer.headers['content-type'] ?? '';
  const parsed = tryParseJson(answer.body);
  let message: unknown;
  if (isRegistryPath(wirePath)) {
    if (contentType !== 'application/vnd.schemaregistry.v1+json') {
      problems.push(`content-type ${JSON.stringify(contentType)} (want the registry's)`);
    }
    const ok =
      isObject(parsed) &&
      typeof parsed.error_code === 'number' &&
      typeof parsed.message === 'string' &&
      Object.keys(parsed).length === 2;
    if (!ok) problems.push('not the Confluent error shape {"error_code":number,"message":string}');
    else {
      const errorCode = parsed.error_code as number;
      const status = errorCode >= 10_000 ? Math.floor(errorCode / 100) : errorCode;
      if (status !== answer.status) problems.push(`error_code ${errorCode} does not match ${answer.status}`);
      message = parsed.message;
    }
  } else {
    if (contentType !== 'application/json') problems.push(`content-type ${JSON.stringify(contentType)}`);
    const error = isObject(parsed) ? parsed.error : undefined;
    const ok =
      isObject(parsed) &&
      Object.keys(parsed).length === 1 &&
      isObject(error) &&
      typeof error.code === 'string' &&
      typeof error.message === 'string' &&
      typeof error.retriable === 'boolean';
    if (!ok || !isObject(error)) problems.push('not the error shape {"error":{code,message,retriable}}');
    else {
      const code = error.code as string;
      const statuses = API_ERROR_STATUSES[code];
      if (statuses === undefined) problems.push(`code ${code} is not in DESIGN §8's list`);
      else if (!statuses.includes(answer.status)) problems.push(`code ${code} sent with ${answer.status}`);
      if (code !== 'INTERNAL' && error.retriable !== RETRIABLE_CODES.has(code)) {
        problems.push(`retriable ${String(error.retriable)} for ${code}`);
      }
      if (answer.status === 405 && (answer.headers.allow ?? '') === '') problems.push('405 without Allow');
      message = error.message;
    }
  }
  // Markers are looked for in the raw body and in the decoded message (JSON escapes hide newlines).
  const texts = [answer.body, typeof message === 'string' ? message : ''];
  for (const marker of LEAK_MARKERS) {
    if (texts.some((text) => markerIn(marker, text)) && !markerIn(marker, requestText)) {
      problems.push(`leaks ${String(marker)}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------------
// Requests.

/** Big payloads are built once, on first use, and named in counterexamples instead of printed. */
const BIG_PAYLOADS = {
  'nested-10k-arrays': () => `${'['.repeat(10_000)}${']'.repeat(10_000)}`,
  'nested-10k-unclosed': () => '['.repeat(10_000),
  'nested-1M-value': () => `{"records":[{"value":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}]}`,
  'nested-100k-objects-in-config': () =>
    `{"name":"deep","partitions":1,"config":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}}`,
  'nested-100k-topics': () =>
    `{"topics":${'['.repeat(100_000)}${']'.repeat(100_000)},"sessionTimeoutMs":300000}`,
  'nested-schema-text': () => JSON.stringify({ schema: `${'['.repeat(50_000)}${']'.repeat(50_000)}` }),
  'value-1MiB-plus-1': () => JSON.stringify({ records: [{ value: 'v'.repeat(1_048_577) }] }),
  'value-3MB': () => JSON.stringify({ records: [{ value: 'x'.repeat(3_000_000) }] }),
  'name-3MB': () => JSON.stringify({ name: 'n'.repeat(3_000_000), partitions: 1 }),
  'truncated-3MB': () => JSON.stringify({ records: [{ value: 'x'.repeat(3_000_000) }] }).slice(0, 2_000_000),
  'body-exactly-4500000': () => {
    const head = '{"records":[{"value":"';
    const tail = '"}]}';
    return `${head}${'e'.repeat(4_500_000 - head.length - tail.length)}${tail}`;
  },
  // No Content-Type: base64 in the event, one character past Lambda's bound.
  'body-base64-over-lambda': () => 'o'.repeat((MAX_LAMBDA_PAYLOAD_BYTES / 4) * 3 + 1),
  'body-over-edge': () => 'o'.repeat(MAX_EDGE_BODY_BYTES + 1),
  'body-6MB-json': () => JSON.stringify({ records: [{ value: 's'.repeat(6_000_000) }] }),
  'records-10001': () => JSON.stringify({ records: Array.from({ length: 10_001 }, () => ({})) }),
  'unknown-fields-20k': () =>
    JSON.stringify(Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i]))),
  'binary-count-10000-empty': () => {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setInt32(0, 10_000);
    return bytes;
  },
} satisfies Record<string, () => string | Uint8Array>;
type BigPayload = keyof typeof BIG_PAYLOADS;
const bigCache = new Map<BigPayload, string | Uint8Array>();
function bigPayload(name: BigPayload): string | Uint8Array {
  let payload = bigCache.get(name);
  if (payload === undefined) {
    payload = BIG_PAYLOADS[name]();
    bigCache.set(name, payload);
  }
  return payload;
}

type BodySpec =
  | { kind: 'none' }
  | { kind: 'text'; text: string }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'big'; name: BigPayload };

interface FuzzRequest {
  method: string;
  /** As written after the host: path, then `?` and the query when there is one. */
  target: string;
  headers: Record<string, string>;
  body: BodySpec;
}

function bodyOf(spec: BodySpec): string | Uint8Array | undefined {
  switch (spec.kind) {
    case 'none':
      return undefined;
    case 'text':
      return spec.text;
    case 'bytes':
      return spec.bytes;
    case 'big':
      return bigPayload(spec.name);
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Everything the client sent, raw and decoded, for telling echoes from leaks. */
function requestTextOf(request: FuzzRequest): string {
  const body = bodyOf(request.body);
  const bodyText =
    body === undefined
      ? ''
      : typeof body === 'string'
        ? body
        : `${Buffer.from(body).toString('latin1')}\n${Buffer.from(body).toString('utf8')}`;
  const decodedTarget = request.target
    .split(/[/?&=]/)
    .map((part) => safeDecode(part.replaceAll('+', ' ')))
    .join('\n');
  const headers = Object.entries(request.headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('\n');
  return [request.method, request.target, decodedTarget, headers, bodyText].join('\n');
}

function describeRequest(request: FuzzRequest): string {
  const body = bodyOf(request.body);
  const size = body === undefined ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  const target = request.target.length > 300 ? `${request.target.slice(0, 300)}…` : request.target;
  return `${request.method} ${target} (body ${request.body.kind}, ${size} bytes)`;
}

class HangError extends Error {}

/** Sends with fetch; GET and HEAD carry no body (fetch refuses one). Throws HangError past the deadline. */
async function send(base: string, request: FuzzRequest): Promise<{ answer: Answer; wirePath: string }> {
  const url = `${base}${request.target}`;
  const wirePath = new URL(url).pathname;
  const bodyless = ['GET', 'HEAD'].includes(request.method.toUpperCase());
  const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  try {
    const response = await fetch(url, {
      method: request.method,
      headers: request.headers,
      body: bodyless ? undefined : bodyOf(request.body),
      redirect: 'manual',
      signal,
    });
    const body = await response.text();
    return {
      answer: { status: response.status, headers: Object.fromEntries(response.headers), body },
      wirePath,
    };
  } catch (error) {
    if (signal.aborted)
      throw new HangError(`no answer within ${REQUEST_TIMEOUT_MS} ms: ${describeRequest(request)}`);
    throw error;
  }
}

/** Writes `head` and `body` on a fresh socket, reads until the server closes. Undefined: no answer. */
async function sendRaw(base: string, head: string, body: Uint8Array): Promise<Answer | undefined> {
  const { hostname, port } = new URL(base);
  const received = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname, () => {
      socket.write(Buffer.from(head, 'latin1'));
      socket.end(body);
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new HangError(`no answer within ${REQUEST_TIMEOUT_MS} ms: ${head.split('\r\n')[0]}`));
    }, REQUEST_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A reset after the answer was sent (the server refusing an oversized body) still counts.
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
  });
  return parseRawAnswer(received);
}

function parseRawAnswer(bytes: Buffer): Answer | undefined {
  let rest = bytes;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) return undefined;
    const lines = rest.subarray(0, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '')?.[1]);
    if (!Number.isInteger(status)) return undefined;
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    let body = rest.subarray(end + 4);
    if (status === 100) {
      rest = body; // interim answer to `Expect: 100-continue`; the real one follows
      continue;
    }
    if (headers['transfer-encoding']?.toLowerCase() === 'chunked') body = dechunk(body);
    else if (headers['content-length'] !== undefined)
      body = body.subarray(0, Number(headers['content-length']));
    return { status, headers, body: body.toString('utf8') };
  }
}

function dechunk(bytes: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = bytes.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = Number.parseInt(bytes.subarray(at, lineEnd).toString('latin1'), 16);
    if (!(size > 0)) break;
    parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------------
// The server, its fixtures and a snapshot of everything a rejected request must not change.

interface Fixture {
  server: LocalServer;
  /** The live member of group `readers` (session 300 s, so it outlives the test). */
  memberId: string;
  epochs: Record<number, number>;
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: await response.text(),
  };
}

async function ok<T = unknown>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const answer = await call(base, method, path, body);
  if (answer.status >= 300) throw new Error(`fixture ${method} ${path}: ${answer.status} ${answer.body}`);
  return (answer.body === '' ? undefined : JSON.parse(answer.body)) as T;
}

interface Joined {
  memberId: string;
  assignments: { partition: number; epoch: number }[];
}

const SUBJECT = 'fuzz-value';
const SCHEMA_V1 = JSON.stringify({
  type: 'record',
  name: 'Fuzz',
  fields: [{ name: 'id', type: 'string' }],
});
/** Adds a field without a default: not BACKWARD compatible with v1 (the default level). */
const SCHEMA_INCOMPATIBLE = JSON.stringify({
  type: 'record',
  name: 'Fuzz',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'n', type: 'int' },
  ],
});
/** High watermarks of `fuzz` after setup, by partition. */
const FUZZ_HWM = [5, 2, 0];

async function createFuzzTopic(base: string): Promise<void> {
  // Record timestamps anywhere in int64 ms are valid here: the bounds (message.timestamp.*.max.ms) are
  // checked in test/unit/produce-rules.test.ts, not modelled by this fuzzer.
  await ok(base, 'POST', '/v1/topics', {
    name: 'fuzz',
    partitions: 3,
    config: { 'message.timestamp.after.max.ms': '9223372036854775807' },
  });
  await ok(base, 'POST', '/v1/topics/fuzz/records', {
    records: [
      ...Array.from({ length: FUZZ_HWM[0] ?? 0 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: 0 })),
      ...Array.from({ length: FUZZ_HWM[1] ?? 0 }, (_, i) => ({ value: { n: i }, partition: 1 })),
    ],
  });
}

async function createOtherTopic(base: string): Promise<void> {
  await ok(base, 'POST', '/v1/topics', { name: 'other', partitions: 1, config: { 'retention.ms': '60000' } });
  await ok(base, 'POST', '/v1/topics/other/records', { records: [{ value: 'x' }] });
}

async function startFixture(): Promise<Fixture> {
  const server = await startLocalServer({ port: 0, memory: true });
  const base = server.url;
  await createFuzzTopic(base);
  await createOtherTopic(base);
  // `idle`: committed offsets, no live member (offsets can be reset only then).
  const idle = await ok<Joined>(base, 'POST', '/v1/groups/idle/members', {
    topics: ['fuzz'],
    sessionTimeoutMs: 300_000,
  });
  await ok(base, 'POST', '/v1/groups/idle/offsets', {
    memberId: idle.memberId,
    offsets: idle.assignments.map((a) => ({
      topic: 'fuzz',
      partition: a.partition,
      offset: Math.min(1, FUZZ_HWM[a.partition] ?? 0),
      epoch: a.epoch,
    })),
  });
  await ok(base, 'DELETE', `/v1/groups/idle/members/${idle.memberId}`);
  // `readers`: one live member holding every lease, with a committed offset.
  const joined = await ok<Joined>(base, 'POST', '/v1/groups/readers/members', {
    topics: ['fuzz'],
    sessionTimeoutMs: 300_000,
  });
  const epochs: Record<number, number> = {};
  for (const a of joined.assignments) epochs[a.partition] = a.epoch;
  await ok(base, 'POST', '/v1/groups/readers/offsets', {
    memberId: joined.memberId,
    offsets: [{ topic: 'fuzz', partition: 0, offset: 2, epoch: epochs[0] }],
  });
  await ok(base, 'POST', `/schema-registry/subjects/${SUBJECT}/versions`, { schema: SCHEMA_V1 });
  return { server, memberId: joined.memberId, epochs };
}

/** Restores what a fuzzed (and accepted) DELETE removed, so later runs still reach deep code. */
async function restoreFixtures(base: string): Promise<void> {
  if ((await call(base, 'GET', '/v1/topics/fuzz')).status === 404) await createFuzzTopic(base);
  if ((await call(base, 'GET', '/v1/topics/other')).status === 404) await createOtherTopic(base);
  if ((await call(base, 'GET', `/schema-registry/subjects/${SUBJECT}/versions`)).status === 404) {
    await ok(base, 'POST', `/schema-registry/subjects/${SUBJECT}/versions`, { schema: SCHEMA_V1 });
  }
}

const SNAPSHOT_PATHS = [
  '/v1/topics',
  '/v1/topics/fuzz',
  '/v1/topics/other',
  '/v1/groups',
  '/v1/groups/readers',
  '/v1/groups/idle',
  '/schema-registry/subjects?deleted=true',
  `/schema-registry/subjects/${SUBJECT}/versions?deleted=true`,
  '/schema-registry/config',
  `/schema-registry/config/${SUBJECT}`,
];

async function snapshot(base: string): Promise<Record<string, string>> {
  const answers = await Promise.all(SNAPSHOT_PATHS.map((path) => call(base, 'GET', path)));
  return Object.fromEntries(
    SNAPSHOT_PATHS.map((path, i) => [path, `${answers[i]?.status} ${answers[i]?.body}`]),
  );
}

// ---------------------------------------------------------------------------------------------------
// Generators.

const graphemes = (maxLength: number) => fc.string({ unit: 'grapheme', maxLength });
const printableAscii = (maxLength: number) => fc.string({ unit: 'binary-ascii', maxLength }).map(visible);
/** Bytes a header value may hold (no NUL, CR, LF; 0x80–0xFF are obs-text). */
const headerChar = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xff }))
  .map((code) => String.fromCharCode(code));
function visible(text: string): string {
  return text.replace(/[^\x21-\x7e]/g, '_');
}

/** Segments that are not what the route expects: encodings (valid and not), dots, numbers, lengths. */
const junkSegment = fc.oneof(
  fc.constantFrom(
    '%zz',
    '%',
    '%e9',
    '%C3',
    '%C3%28',
    '%ED%A0%80',
    '%2F',
    '%00',
    '%2e%2e',
    '..',
    '.',
    '%20',
    '+',
    ';',
    '~',
    'a%2Fb',
    '%ZZ%',
    '-1',
    '1.5',
    '1e3',
    '00',
    '0x1',
    '99999999999999999999',
    '2147483648',
    '2147483647',
    '9007199254740993',
    'NaN',
    'Infinity',
    'latest',
    'LATEST',
    '__proto__',
    'constructor',
    'DynamoDB',
  ),
  graphemes(30).map(encodeURIComponent),
  printableAscii(20).map((text) => text.replace(/[#?/\\%]/g, '-')),
  fc.integer({ min: 250, max: 2_000 }).map((n) => 'a'.repeat(n)),
  fc.integer({ min: 10, max: 300 }).map((n) => encodeURIComponent('é'.repeat(n))),
);

type ParamKind = 'topic' | 'partition' | 'group' | 'member' | 'subject' | 'version' | 'id';

/** Path parameters that exist (weighted up) and ones that do not. */
function realSegments(): Record<ParamKind, fc.Arbitrary<string>> {
  const mostly = (usual: fc.Arbitrary<string>, others: fc.Arbitrary<string>) =>
    fc.oneof({ arbitrary: usual, weight: 3 }, { arbitrary: others, weight: 1 });
  return {
    topic: mostly(
      fc.constantFrom('fuzz', 'other'),
      fc.constantFrom('nope', 'a', 'x'.repeat(249), 'x'.repeat(250)),
    ),
    partition: mostly(fc.constantFrom('0', '1', '2'), fc.constantFrom('3', '256')),
    group: fc.constantFrom('readers', 'idle', 'fresh'),
    member: mostly(liveMember, fc.constantFrom('m', '00000000-0000-4000-8000-000000000000')),
    subject: mostly(fc.constant(SUBJECT), fc.constantFrom('nope', 'a%01b', 'x'.repeat(300))),
    version: mostly(fc.constantFrom('1', 'latest', '-1'), fc.constantFrom('2', '0')),
    id: mostly(fc.constant('1'), fc.constantFrom('2', '0', '2147483648')),
  };
}

/** The real routes, method first, so most requests reach a handler rather than a 404 or 405. */
const ROUTES: readonly string[] = [
  'GET /v1/health',
  'POST /v1/topics',
  'GET /v1/topics',
  'GET /v1/topics/{topic}',
  'PATCH /v1/topics/{topic}',
  'DELETE /v1/topics/{topic}',
  'POST /v1/topics/{topic}/records',
  'POST /v1/topics/{topic}/records/delete',
  'GET /v1/topics/{topic}/partitions/{partition}/records',
  'GET /v1/topics/{topic}/partitions/{partition}/offsets',
  'GET /v1/groups',
  'GET /v1/groups/{group}',
  'DELETE /v1/groups/{group}',
  'POST /v1/groups/{group}/members',
  'POST /v1/groups/{group}/members/{member}/heartbeat',
  'DELETE /v1/groups/{group}/members/{member}',
  'POST /v1/groups/{group}/offsets',
  'POST /v1/groups/{group}/offsets/reset',
  'GET /schema-registry',
  'GET /schema-registry/schemas/types',
  'GET /schema-registry/subjects',
  'POST /schema-registry/subjects/{subject}',
  'DELETE /schema-registry/subjects/{subject}',
  'GET /schema-registry/subjects/{subject}/versions',
  'POST /schema-registry/subjects/{subject}/versions',
  'GET /schema-registry/subjects/{subject}/versions/{version}',
  'GET /schema-registry/subjects/{subject}/versions/{version}/schema',
  'DELETE /schema-registry/subjects/{subject}/versions/{version}',
  'GET /schema-registry/schemas/ids/{id}',
  'GET /schema-registry/schemas/ids/{id}/schema',
  'GET /schema-registry/schemas/ids/{id}/subjects',
  'GET /schema-registry/schemas/ids/{id}/versions',
  'GET /schema-registry/config',
  'PUT /schema-registry/config',
  'GET /schema-registry/config/{subject}',
  'PUT /schema-registry/config/{subject}',
  'DELETE /schema-registry/config/{subject}',
  'POST /schema-registry/compatibility/subjects/{subject}/versions/{version}',
  'POST /schema-registry/compatibility/subjects/{subject}/versions',
];
/** Paths no route has. */
const NON_ROUTES: readonly string[] = [
  '/',
  '/v1',
  '/v1/topics/{topic}/partitions',
  '/v1/topics/{topic}/partitions/{partition}',
  '/v1/groups/{group}/members/{member}/offsets',
  '/schema-registry/associations/x',
  '/schema-registry/contexts',
  '/v2/topics',
  '/V1/topics',
  '/Schema-Registry/subjects',
];

/** A path: a template with each parameter real or junk, then perhaps a structural mutation. */
function pathArb(template: string, extraJunk: fc.Arbitrary<string> = junkSegment): fc.Arbitrary<string> {
  const real = realSegments();
  const segment = (kind: ParamKind) =>
    fc.oneof({ arbitrary: real[kind], weight: 4 }, { arbitrary: extraJunk, weight: 1 });
  const parts = template.split('/').map((part) => {
    const match = /^\{(\w+)\}$/.exec(part);
    return match === null ? fc.constant(part) : segment(match[1] as ParamKind);
  });
  const filled = fc.tuple(...parts).map((segments) => segments.join('/'));
  const mutation = fc.oneof(
    { arbitrary: fc.constant('none'), weight: 12 },
    fc.constantFrom('append', 'drop', 'slash', 'double', 'prefix'),
  );
  return fc.tuple(filled, mutation, extraJunk).map(([path, how, junk]) => {
    switch (how) {
      case 'append':
        return `${path}/${junk}`;
      case 'drop':
        return path.slice(0, Math.max(1, path.lastIndexOf('/')));
      case 'slash':
        return `${path}/`;
      case 'double':
        return path.replace('/', '//');
      case 'prefix':
        return `/${junk}${path}`;
      default:
        return path === '' ? '/' : path;
    }
  });
}

const QUERY_NAMES = [
  'offset',
  'max_bytes',
  'max_wait_ms',
  'encoding',
  'timestamp',
  'deleted',
  'permanent',
  'verbose',
  'defaultToGlobal',
  'normalize',
  'subject',
  'Offset',
  'max_byte',
  '',
];

/**
 * Query values. Digit-only values are 0–100 or beyond 20 000, so `max_wait_ms` never asks for a
 * long poll longer than 100 ms.
 */
const queryValue = fc.oneof(
  fc.constantFrom(
    '',
    '-1',
    '1.5',
    '1e3',
    ' 1',
    '0x10',
    '+1',
    '20001',
    '4294967296',
    '9007199254740991',
    '9007199254740992',
    '99999999999999999999999',
    'NaN',
    'Infinity',
    'utf8',
    'base64',
    'latin1',
    'true',
    'TRUE',
    'false',
  ),
  fc.nat({ max: 100 }).map(String),
  // Digit-only strings are left to the two lines above.
  graphemes(12).filter((text) => !/^\d+$/.test(text)),
);

const randomQuery = fc
  .array(
    fc.tuple(
      fc.oneof({ arbitrary: fc.constantFrom(...QUERY_NAMES), weight: 4 }, graphemes(8)),
      queryValue,
      fc.boolean(),
    ),
    { minLength: 1, maxLength: 5 },
  )
  .map((pairs) =>
    pairs
      .map(([name, value, encoded]) =>
        encoded
          ? `${encodeURIComponent(name)}=${encodeURIComponent(value)}`
          : `${visible(name)}=${visible(value)}`,
      )
      .join('&'),
  );
const rawQuery = fc.constantFrom('a', '=', '&&', '=x', 'offset', '%zz=1', 'offset=%zz', '&offset=0&');
const fetchQuery = fc
  .tuple(
    fc.oneof(fc.nat({ max: 6 }).map(String), queryValue),
    fc.option(fc.oneof(fc.nat({ max: 3_145_729 }).map(String), queryValue)),
    fc.option(fc.oneof(fc.nat({ max: 100 }).map(String), queryValue)),
    fc.option(fc.oneof(fc.constantFrom('utf8', 'base64'), queryValue)),
  )
  .map(([offset, maxBytes, wait, encoding]) =>
    [
      `offset=${encodeURIComponent(offset)}`,
      maxBytes === null ? '' : `max_bytes=${encodeURIComponent(maxBytes)}`,
      wait === null ? '' : `max_wait_ms=${encodeURIComponent(wait)}`,
      encoding === null ? '' : `encoding=${encodeURIComponent(encoding)}`,
    ]
      .filter((part) => part !== '')
      .join('&'),
  );
const registryQuery = fc
  .subarray([
    'deleted=true',
    'permanent=true',
    'verbose=true',
    'defaultToGlobal=true',
    'normalize=true',
    'x=%zz',
  ])
  .map((parts) => parts.join('&'));

/**
 * Query strings: what the route reads, most of the time, else random. Digit-only `max_wait_ms`
 * values are 0–100 or beyond 20 000 (see queryValue).
 */
function queryFor(method: string, path: string): fc.Arbitrary<string> {
  const partitionRoute = method === 'GET' && path.includes('/partitions/');
  const own =
    partitionRoute && path.endsWith('/records')
      ? fetchQuery
      : partitionRoute && path.endsWith('/offsets')
        ? fc
            .option(queryValue, { nil: undefined })
            .map((t) => (t === undefined ? '' : `timestamp=${encodeURIComponent(t)}`))
        : isRegistryPath(path)
          ? registryQuery
          : fc.constant('');
  return fc.oneof({ arbitrary: own, weight: 6 }, randomQuery, rawQuery);
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json;charset="UTF8"',
  'APPLICATION/JSON',
  'application/json; charset=latin1',
  'application/json; charset=',
  'application/json; boundary=x; charset=utf-8',
  'application/jsonx',
  'text/plain',
  'text/json',
  'application/vnd.streambed.produce.v1',
  'application/vnd.schemaregistry.v1+json',
  'application/vnd.schemaregistry+json',
  'application/octet-stream',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  '',
  ';;;',
  '*/*',
];

/** Header values within node's 16 KB header-block limit (see the 431 test for beyond it). */
function headersArb(maxHuge: number): fc.Arbitrary<Record<string, string>> {
  const value = fc.string({ unit: headerChar, maxLength: 40 });
  const entry = fc.oneof(
    {
      arbitrary: fc.tuple(fc.constant('content-type'), fc.oneof(fc.constantFrom(...CONTENT_TYPES), value)),
      weight: 6,
    },
    {
      arbitrary: fc.tuple(
        fc.constant('accept'),
        fc.oneof(
          fc.constantFrom(
            'application/vnd.streambed.batches.v1',
            'application/vnd.streambed.batches.v1;q=0',
            'text/html, application/vnd.streambed.batches.v1;q=0.5',
            'application/vnd.streambed.batches.v1;q=abc',
            '*/*',
          ),
          value,
        ),
      ),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(
        fc.constant('idempotency-key'),
        fc.oneof(fc.constantFrom('key-1', 'a b', 'x'.repeat(128), 'x'.repeat(129), 'é'), value),
      ),
      weight: 2,
    },
    { arbitrary: fc.tuple(fc.constant('x-request-id'), value), weight: 1 },
    {
      arbitrary: fc.tuple(fc.constant('authorization'), fc.oneof(fc.constant('Bearer x'), value)),
      weight: 1,
    },
    {
      arbitrary: fc.tuple(fc.constant('content-encoding'), fc.constantFrom('gzip', 'br', 'identity')),
      weight: 1,
    },
    {
      arbitrary: fc.tuple(
        fc.stringMatching(/^[a-z0-9-]{1,20}$/).map((name) => `x-fuzz-${name}`),
        fc.oneof(
          value,
          fc.integer({ min: 500, max: maxHuge }).map((n) => 'h'.repeat(n)),
        ),
      ),
      weight: 1,
    },
  );
  return fc.array(entry, { maxLength: 4 }).map((entries) => Object.fromEntries(entries));
}

// Domain bodies: mostly valid, else valid with one part replaced by junk, so that validation is
// passed or failed deep inside, not only at the first field.

/** The live member of `readers` on the server under test (set by its fixture). */
const live = { memberId: 'm', epochs: {} as Record<number, number> };
const liveMember = fc.constant(null).map(() => live.memberId);

const jsonJunk = fc.jsonValue({ maxDepth: 3 });
/** `good`, or (one time in five) any JSON value in its place. */
const maybe = <T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ arbitrary: good, weight: 4 }, { arbitrary: jsonJunk, weight: 1 });
/** Valid most of the time, else near-valid. */
const mostlyValid = (valid: fc.Arbitrary<unknown>, nearValid: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.oneof({ arbitrary: valid, weight: 2 }, { arbitrary: nearValid, weight: 1 });

const bytesBase64 = fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes).toString('base64'));
const base64Arb = fc.oneof(
  bytesBase64,
  fc.constantFrom('YQ', 'YR==', '-_8=', 'YQ==\n', ' YQ==', '====', 'Y', ''),
);
const validRecord = fc.record(
  {
    key: graphemes(10),
    value: fc.oneof(graphemes(20), fc.jsonValue({ maxDepth: 2 })),
    headers: fc.dictionary(graphemes(6), fc.option(graphemes(6)), { maxKeys: 3 }),
    partition: fc.integer({ min: 0, max: 2 }),
    timestamp: fc.nat(),
  },
  { requiredKeys: [] },
);
const junkRecord = fc.record(
  {
    key: maybe(graphemes(10)),
    keyBase64: maybe(base64Arb),
    value: jsonJunk,
    valueBase64: maybe(base64Arb),
    headers: maybe(fc.dictionary(graphemes(6), fc.option(graphemes(6)), { maxKeys: 3 })),
    partition: maybe(fc.integer({ min: -1, max: 4 })),
    timestamp: maybe(fc.oneof(fc.nat(), fc.constantFrom(-1, 1.5, 2 ** 53, 1e300))),
    valu: fc.constant(1),
  },
  { requiredKeys: [] },
);
const VALID_CONFIG_ENTRIES: readonly [string, unknown][] = [
  ['retention.ms', '60000'],
  ['retention.ms', -1],
  ['retention.bytes', 1_000_000],
  ['max.message.bytes', '1048576'],
  ['cleanup.policy', 'delete'],
];
const validConfig = fc
  .subarray([...VALID_CONFIG_ENTRIES], { maxLength: 3 })
  .map((entries) => Object.fromEntries(entries));
const junkConfig = fc.dictionary(
  fc.constantFrom('retention.ms', 'retention.bytes', 'max.message.bytes', 'cleanup.policy', 'segment.ms'),
  fc.oneof(
    fc.constantFrom(
      -2,
      -1,
      0,
      1,
      1.5,
      4_500_000,
      4_500_001,
      '60000',
      '-1',
      'abc',
      '',
      '1e3',
      'delete',
      'compact',
    ),
    jsonJunk,
  ),
  { maxKeys: 3 },
);
const freshName = fc.stringMatching(/^fz-[a-z0-9._-]{1,8}$/);
const nameArb = fc.oneof(
  fc.constantFrom('fuzz', 'other', 'nope', '.', '..', 'a b', 'é', 'x'.repeat(250)),
  freshName,
);

const bodies = {
  produce: mostlyValid(
    fc.record({ records: fc.array(validRecord, { minLength: 1, maxLength: 4 }) }),
    fc.record(
      { records: maybe(fc.array(fc.oneof(validRecord, junkRecord), { maxLength: 4 })) },
      { requiredKeys: [] },
    ),
  ),
  create: mostlyValid(
    fc.record(
      { name: freshName, partitions: fc.integer({ min: 1, max: 4 }), config: validConfig },
      { requiredKeys: ['name', 'partitions'] },
    ),
    fc.record(
      {
        name: maybe(nameArb),
        partitions: maybe(fc.integer({ min: -1, max: 300 })),
        config: maybe(junkConfig),
      },
      { requiredKeys: [] },
    ),
  ),
  alter: mostlyValid(
    fc.record(
      { config: validConfig, partitions: fc.integer({ min: 3, max: 5 }) },
      { requiredKeys: ['config'] },
    ),
    fc.record(
      { config: maybe(junkConfig), partitions: maybe(fc.integer({ min: 0, max: 300 })) },
      { requiredKeys: [] },
    ),
  ),
  // Joins always name a session: a default 30 s member could expire mid-run and change `readers`.
  join: mostlyValid(
    fc.record({
      topics: fc.subarray(['fuzz', 'other'], { minLength: 1 }),
      sessionTimeoutMs: fc.constant(300_000),
    }),
    fc.record({
      topics: maybe(fc.array(nameArb, { maxLength: 3 })),
      sessionTimeoutMs: fc.constantFrom(300_000, 999, 300_001, 1.5, '1000', null, -1),
    }),
  ),
  commit: fc.record(
    {
      memberId: maybe(fc.oneof(liveMember, fc.constantFrom('m', ''))),
      offsets: maybe(
        fc.array(
          fc.record(
            {
              topic: maybe(fc.constantFrom('fuzz', 'fuzz', 'other', 'nope')),
              partition: maybe(fc.integer({ min: -1, max: 3 })),
              offset: maybe(fc.integer({ min: -1, max: 10 })),
              epoch: maybe(fc.integer({ min: -1, max: 5 })),
            },
            { requiredKeys: ['topic', 'partition', 'offset', 'epoch'] },
          ),
          { maxLength: 3 },
        ),
      ),
    },
    { requiredKeys: ['memberId', 'offsets'] },
  ),
  reset: fc.record(
    {
      topic: maybe(fc.constantFrom('fuzz', 'other', 'nope')),
      partitions: maybe(fc.array(fc.integer({ min: -1, max: 3 }), { maxLength: 3 })),
      to: maybe(fc.constantFrom('earliest', 'latest', 'timestamp', 'offset', 'middle')),
      timestamp: maybe(fc.nat()),
      offset: maybe(fc.integer({ min: -1, max: 10 })),
    },
    { requiredKeys: ['topic', 'to'] },
  ),
  deleteRecords: fc.record(
    {
      partitions: maybe(
        fc.array(
          fc.record(
            {
              partition: maybe(fc.integer({ min: -1, max: 3 })),
              offset: maybe(fc.integer({ min: -2, max: 10 })),
            },
            { requiredKeys: ['partition', 'offset'] },
          ),
          { maxLength: 3 },
        ),
      ),
    },
    { requiredKeys: ['partitions'] },
  ),
  schema: fc.record(
    {
      schema: maybe(
        fc.oneof(
          fc.constantFrom(
            SCHEMA_V1,
            SCHEMA_INCOMPATIBLE,
            '"string"',
            '{"type":"record"}',
            'not json',
            '',
            '[]',
          ),
          jsonJunk.map((value) => JSON.stringify(value)),
        ),
      ),
      schemaType: maybe(fc.constantFrom('AVRO', 'PROTOBUF', 'JSON')),
      references: maybe(fc.constantFrom([], [{ name: 'x', subject: 's', version: 1 }])),
    },
    { requiredKeys: ['schema'] },
  ),
  compatibility: fc.record({
    compatibility: maybe(fc.constantFrom('BACKWARD', 'NONE', 'none', 'SIDEWAYS', '')),
  }),
} satisfies Record<string, fc.Arbitrary<unknown>>;
type BodyKind = keyof typeof bodies;
const domainBody = fc.oneof(...Object.values(bodies));

/** The body a route reads, if any. */
function bodyKindOf(route: string): BodyKind | undefined {
  if (route === 'POST /v1/topics') return 'create';
  if (route.startsWith('PATCH /v1/topics/')) return 'alter';
  if (route.endsWith('/records') && route.startsWith('POST')) return 'produce';
  if (route.endsWith('/records/delete')) return 'deleteRecords';
  if (route.endsWith('/members')) return 'join';
  if (route.endsWith('/offsets') && route.startsWith('POST')) return 'commit';
  if (route.endsWith('/offsets/reset')) return 'reset';
  if (route.startsWith('PUT /schema-registry/config')) return 'compatibility';
  if (route.startsWith('POST /schema-registry/')) return 'schema';
  return undefined;
}

/** A binary produce body, intact or mutated (truncated, a byte changed, a byte added, a bad count). */
const binaryBody = fc
  .tuple(
    fc.array(
      fc.record({
        key: fc.option(fc.uint8Array({ maxLength: 8 })),
        value: fc.option(fc.uint8Array({ maxLength: 8 })),
        headers: fc.array(
          fc.record({ key: graphemes(4), value: fc.option(fc.uint8Array({ maxLength: 4 })) }),
          {
            maxLength: 2,
          },
        ),
        partition: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    fc.oneof(
      { arbitrary: fc.constant('none'), weight: 3 },
      fc.constantFrom('truncate', 'flip', 'append', 'count'),
    ),
    fc.nat(),
    fc.integer({ min: 0, max: 255 }),
  )
  .map(([records, mutation, at, byte]) => {
    const bytes = encodeProduceBody(records);
    const index = at % bytes.byteLength;
    switch (mutation) {
      case 'truncate':
        return bytes.subarray(0, index);
      case 'flip': {
        const copy = bytes.slice();
        copy[index] = byte;
        return copy;
      }
      case 'append':
        return Uint8Array.from([...bytes, byte]);
      case 'count': {
        const copy = bytes.slice();
        new DataView(copy.buffer).setInt32(0, [0, -1, 2 ** 31 - 1, 10_001][byte % 4] ?? 0);
        return copy;
      }
      default:
        return bytes;
    }
  });

const bodyArb: fc.Arbitrary<BodySpec> = fc.oneof(
  { arbitrary: fc.constant<BodySpec>({ kind: 'none' }), weight: 3 },
  {
    arbitrary: domainBody.map((body): BodySpec => ({ kind: 'text', text: JSON.stringify(body) })),
    weight: 6,
  },
  {
    arbitrary: fc.tuple(domainBody, fc.nat()).map(([body, cut]): BodySpec => {
      const text = JSON.stringify(body);
      return { kind: 'text', text: text.slice(0, cut % Math.max(1, text.length)) };
    }),
    weight: 2,
  },
  { arbitrary: fc.json({ maxDepth: 4 }).map((text): BodySpec => ({ kind: 'text', text })), weight: 3 },
  {
    arbitrary: fc.string({ unit: 'binary', maxLength: 60 }).map((text): BodySpec => ({ kind: 'text', text })),
    weight: 1,
  },
  {
    arbitrary: fc.uint8Array({ maxLength: 300 }).map((bytes): BodySpec => ({ kind: 'bytes', bytes })),
    weight: 2,
  },
  { arbitrary: binaryBody.map((bytes): BodySpec => ({ kind: 'bytes', bytes })), weight: 2 },
  {
    arbitrary: fc
      .constantFrom(...(Object.keys(BIG_PAYLOADS) as BigPayload[]))
      .map((name): BodySpec => ({ kind: 'big', name })),
    weight: 1,
  },
);

const STANDARD_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
/** Methods node's parser knows; fetch refuses CONNECT, TRACE and TRACK. */
const OTHER_KNOWN_METHODS = METHODS.filter(
  (m) => !STANDARD_METHODS.includes(m) && !['CONNECT', 'TRACE'].includes(m),
);

/** Any method token (RFC 9110 tchar), as a client may send one. */
const methodToken = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,10}$/);
const anyMethod = fc.oneof(
  { arbitrary: fc.constantFrom(...STANDARD_METHODS), weight: 10 },
  { arbitrary: fc.constantFrom(...OTHER_KNOWN_METHODS), weight: 1 },
  // fetch upper-cases these six itself (not `patch`).
  { arbitrary: fc.constantFrom('get', 'post', 'put', 'delete', 'options', 'head'), weight: 1 },
  // Known bug, see the test 'seed 9001: a method node does not know': node answers those itself.
  ...(KNOWN_BUGS_EXCLUDED ? [] : [{ arbitrary: fc.oneof(methodToken, fc.constant('patch')), weight: 2 }]),
);

/** Mostly a real route with its own method; else any method on any route or non-route. */
function methodAndPathArb(): fc.Arbitrary<{ method: string; path: string; kind: BodyKind | undefined }> {
  // Streambed's own routes twice as often as the registry's.
  const routeArb = fc.oneof(
    { arbitrary: fc.constantFrom(...ROUTES.filter((route) => route.includes(' /v1/'))), weight: 2 },
    { arbitrary: fc.constantFrom(...ROUTES.filter((route) => !route.includes(' /v1/'))), weight: 1 },
  );
  const routed = routeArb.chain((route) => {
    const [method = 'GET', template = '/'] = route.split(' ');
    return pathArb(template).map((path) => ({ method, path, kind: bodyKindOf(route) }));
  });
  const templates = [...ROUTES.map((route) => route.split(' ')[1] ?? '/'), ...NON_ROUTES];
  const unrouted = fc
    .tuple(anyMethod, fc.constantFrom(...templates))
    .chain(([method, template]) =>
      pathArb(template).map((path) => ({ method, path, kind: undefined as BodyKind | undefined })),
    );
  return fc.oneof({ arbitrary: routed, weight: 3 }, { arbitrary: unrouted, weight: 1 });
}

/** Mostly the route's own kind of body (and binary ones for produce), else anything. */
function bodyFor(kind: BodyKind | undefined): fc.Arbitrary<BodySpec> {
  if (kind === undefined) return bodyArb;
  const own = bodies[kind] as fc.Arbitrary<unknown>;
  const text = own.map((body): BodySpec => ({ kind: 'text', text: JSON.stringify(body) }));
  const binary = binaryBody.map((bytes): BodySpec => ({ kind: 'bytes', bytes }));
  return kind === 'produce'
    ? fc.oneof({ arbitrary: text, weight: 3 }, binary, bodyArb)
    : fc.oneof({ arbitrary: text, weight: 3 }, bodyArb);
}

const isOverLimit = (body: BodySpec): boolean =>
  body.kind === 'big' &&
  (body.name === 'body-base64-over-lambda' ||
    body.name === 'body-over-edge' ||
    body.name === 'body-6MB-json');

function requestArb(): fc.Arbitrary<FuzzRequest> {
  return (
    fc
      // Known bug, see the test 'seed 9001: a header section over 16 KB': node answers a bare 431.
      .record({ route: methodAndPathArb(), extraHeaders: headersArb(KNOWN_BUGS_EXCLUDED ? 1_500 : 20_000) })
      .chain(({ route, extraHeaders }) =>
        fc
          .tuple(queryFor(route.method, route.path), bodyFor(route.kind), fc.nat({ max: 5 }))
          .map(([query, body, pick]) => {
            // Mostly the content type the body is in, so bodies reach the parsers; else random headers.
            const natural =
              body.kind === 'bytes' && route.kind === 'produce'
                ? 'application/vnd.streambed.produce.v1'
                : isRegistryPath(route.path) && pick === 0
                  ? 'application/vnd.schemaregistry.v1+json'
                  : 'application/json';
            const headers = pick < 5 ? { 'content-type': natural } : extraHeaders;
            return { route, query, headers, body };
          }),
      )
      // Known bug, see the test 'seed 9001: a body over the edge limit under /schema-registry'.
      .filter(({ route, body }) => !(KNOWN_BUGS_EXCLUDED && isRegistryPath(route.path) && isOverLimit(body)))
      .map(({ route, query, headers, body }) => ({
        method: route.method,
        target: query === '' ? route.path : `${route.path}?${query}`,
        headers,
        body,
      }))
  );
}

// ---------------------------------------------------------------------------------------------------
// Property 1: anything goes in, a well-formed answer comes out, rejections change nothing.

describe('HTTP fuzzing: any request', () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture();
    live.memberId = fixture.memberId;
    live.epochs = fixture.epochs;
  });
  afterAll(async () => fixture.server.close());

  it('answers below 500, in time, with the documented error shape, leaking nothing, changing nothing when rejected', async () => {
    const base = fixture.server.url;
    await check(
      'any request',
      fc.asyncProperty(requestArb(), async (request) => {
        await restoreFixtures(base);
        const mutating = !['GET', 'HEAD'].includes(request.method.toUpperCase());
        const before = mutating ? await snapshot(base) : undefined;
        const { answer, wirePath } = await send(base, request);
        const problems = problemsOf(request.method.toUpperCase(), wirePath, answer, requestTextOf(request));
        // Known bugs, see the two 'seed 9002' tests: a refused offset reset may have reset some partitions.
        const knownBug =
          KNOWN_BUGS_EXCLUDED && wirePath.endsWith('/offsets/reset') && [409, 416].includes(answer.status);
        if (before !== undefined && answer.status >= 400 && !knownBug) {
          const after = await snapshot(base);
          for (const path of SNAPSHOT_PATHS) {
            if (after[path] !== before[path]) problems.push(`rejected, yet changed ${path}`);
          }
        }
        if (problems.length > 0) {
          throw new Error(
            `${describeRequest(request)} → ${answer.status} ${answer.body.slice(0, 500)}\n  ${problems.join('\n  ')}`,
          );
        }
      }),
      { numRuns: runs(500), seed: seed(9_001) },
    );
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------
// Property 2: batches of requests that must all be rejected leave the state exactly as it was.

const JSON_HEADERS = { 'content-type': 'application/json' };
const jsonRequest = (
  method: string,
  target: string,
  body: unknown,
  headers: Record<string, string> = JSON_HEADERS,
): FuzzRequest => ({
  method,
  target,
  headers,
  body: { kind: 'text', text: JSON.stringify(body) },
});
const bare = (method: string, target: string): FuzzRequest => ({
  method,
  target,
  headers: {},
  body: { kind: 'none' },
});

/** Records each of which is refused on its own (400, 404 or 413), whatever surrounds it. */
const invalidRecord = fc.constantFrom<Record<string, unknown>>(
  { key: null },
  { key: 1 },
  { key: {} },
  { keyBase64: 'YQ' },
  { keyBase64: 'YR==' },
  { valueBase64: '-_8=' },
  { value: 'a', valueBase64: 'YQ==' },
  { value: null, valueBase64: 'YQ==' },
  { key: 'a', keyBase64: 'YQ==' },
  { valu: 1 },
  { partition: 3 },
  { partition: 2 ** 31 },
  { partition: -1 },
  { partition: 1.5 },
  { partition: '1' },
  { timestamp: -1 },
  { timestamp: 1.5 },
  { timestamp: 2 ** 53 },
  { headers: { a: 1 } },
  { headers: [] },
  { headers: 'x' },
  { key: '\ud800' },
  { value: '\udfff' },
  { headers: { '\ud800': 'x' } },
  { headers: { h: '\udc00' } },
);

/** Valid records with one to three refused ones mixed in at random places. */
const producePoisoned = fc
  .tuple(
    fc.array(validRecord, { maxLength: 4 }),
    fc.array(fc.tuple(invalidRecord, fc.nat()), { minLength: 1, maxLength: 3 }),
  )
  .map(([valid, poison]) => {
    const records: unknown[] = [...valid];
    for (const [record, at] of poison) records.splice(at % (records.length + 1), 0, record);
    return records;
  });

const INVALID_CONFIG_ENTRIES: readonly [string, unknown][] = [
  ['retention.ms', -2],
  ['retention.ms', 1.5],
  ['retention.ms', 'abc'],
  ['retention.ms', ''],
  ['retention.ms', '1e3'],
  ['retention.ms', 2 ** 53],
  ['retention.bytes', -5],
  ['max.message.bytes', 0],
  ['max.message.bytes', MAX_MESSAGE_BYTES + 1],
  ['cleanup.policy', 'compact'],
  ['segment.ms', 1],
  ['retention.ms', null],
  ['retention.ms', true],
];
const invalidConfig = fc
  .tuple(validConfig, fc.constantFrom(...INVALID_CONFIG_ENTRIES))
  .map(([config, [key, value]]) => ({ ...config, [key]: value }));

/** A binary produce body that breaks the grammar (or names a partition `fuzz` lacks). */
const brokenBinary = fc
  .tuple(
    fc.array(
      fc.record({
        key: fc.option(fc.uint8Array({ maxLength: 8 })),
        value: fc.option(fc.uint8Array({ maxLength: 8 })),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    fc.constantFrom('truncate', 'append', 'count+1', 'count0', 'partition3'),
    fc.nat(),
  )
  .map(([keyValues, how, at]) => {
    const records = keyValues.map((r) => ({ ...r, headers: [] }));
    if (how === 'partition3')
      return encodeProduceBody(records.map((r, i) => (i === 0 ? { ...r, partition: 3 } : r)));
    const bytes = encodeProduceBody(records);
    if (how === 'truncate') return bytes.subarray(0, at % bytes.byteLength);
    if (how === 'append') return Uint8Array.from([...bytes, at % 256]);
    const copy = bytes.slice();
    new DataView(copy.buffer).setInt32(0, how === 'count0' ? 0 : records.length + 1);
    return copy;
  });

const freshTopicName = fc.stringMatching(/^fz-[a-z0-9]{1,8}$/);
const invalidTopicName = fc.constantFrom('', '.', '..', 'a b', 'é', 'a/b', 'x'.repeat(250), 'fuzz', 'other');

/** Requests that must be refused, each with the state of the fixture server as it is. */
function rejectedArb(): fc.Arbitrary<FuzzRequest> {
  const records = '/v1/topics/fuzz/records';
  const produce = fc.oneof(
    producePoisoned.map((list) => jsonRequest('POST', records, { records: list })),
    fc
      .tuple(fc.array(validRecord, { minLength: 1, maxLength: 3 }), fc.nat({ max: 6 }))
      .map(([list, how]): FuzzRequest => {
        const body = { records: list };
        switch (how) {
          case 0:
            return jsonRequest('POST', records, body, { ...JSON_HEADERS, 'idempotency-key': 'a b' });
          case 1:
            return jsonRequest('POST', records, body, {
              ...JSON_HEADERS,
              'idempotency-key': 'k'.repeat(129),
            });
          case 2:
            return jsonRequest('POST', records, body, { 'content-type': 'application/json; charset=latin1' });
          case 3:
            return jsonRequest('POST', `${records}?offset=0`, body);
          case 4:
            return jsonRequest('POST', '/v1/topics/nope/records', body);
          case 5:
            return jsonRequest('POST', records, { ...body, extra: 1 });
          default:
            return {
              ...jsonRequest('POST', records, body),
              body: { kind: 'text', text: JSON.stringify(body).slice(0, -1) },
            };
        }
      }),
    fc
      .constantFrom({ records: [] }, { records: {} }, [], {}, { records: null })
      .map((body) => jsonRequest('POST', records, body)),
    brokenBinary.map(
      (bytes): FuzzRequest => ({
        method: 'POST',
        target: records,
        headers: { 'content-type': 'application/vnd.streambed.produce.v1' },
        body: { kind: 'bytes', bytes },
      }),
    ),
  );

  const create = fc
    .tuple(
      fc.record({ name: freshTopicName, partitions: fc.integer({ min: 1, max: 4 }), config: validConfig }),
      fc.constantFrom('name', 'partitions', 'config', 'extra', 'type'),
      invalidTopicName,
      fc.constantFrom(0, 257, 1.5, '3', null, -1),
      invalidConfig,
    )
    .map(([valid, broken, name, partitions, config]) => {
      if (broken === 'type')
        return jsonRequest('POST', '/v1/topics', valid, { 'content-type': 'text/plain' });
      const body =
        broken === 'name'
          ? { ...valid, name }
          : broken === 'partitions'
            ? { ...valid, partitions }
            : broken === 'config'
              ? { ...valid, config }
              : { ...valid, retention: 1 };
      return jsonRequest('POST', '/v1/topics', body);
    });

  const alter = fc
    .tuple(
      fc.record({ config: validConfig, partitions: fc.integer({ min: 3, max: 6 }) }),
      fc.constantFrom('partitions', 'config', 'empty', 'extra', 'unknown-topic'),
      fc.constantFrom(1, 2, 0, 257, 1.5, '4'),
      invalidConfig,
    )
    .map(([valid, broken, partitions, config]) => {
      if (broken === 'unknown-topic') return jsonRequest('PATCH', '/v1/topics/nope', valid);
      const body =
        broken === 'partitions'
          ? { ...valid, partitions }
          : broken === 'config'
            ? { ...valid, config }
            : broken === 'empty'
              ? {}
              : { ...valid, name: 'renamed' };
      return jsonRequest('PATCH', '/v1/topics/fuzz', body);
    });

  const removeTopic = fc
    .constantFrom('/v1/topics/nope', '/v1/topics/fuzz?x=1', '/v1/topics/a%20b', '/v1/topics/other?offset=0')
    .map((target) => bare('DELETE', target));

  const join = fc
    .tuple(
      fc.constantFrom('readers', 'fz-group'),
      fc.constantFrom('nope-topic', 'no-topics', 'session', 'many', 'extra', 'bad-member', 'bad-group'),
      fc.constantFrom(999, 300_001, 1.5, -1, '1000', null),
    )
    .map(([group, broken, session]) => {
      const valid = { topics: ['fuzz'], sessionTimeoutMs: 300_000 };
      const target = `/v1/groups/${broken === 'bad-group' ? 'a%20b' : group}/members`;
      const body =
        broken === 'nope-topic'
          ? { ...valid, topics: ['fuzz', 'nope'] }
          : broken === 'no-topics'
            ? { ...valid, topics: [] }
            : broken === 'session'
              ? { ...valid, sessionTimeoutMs: session }
              : broken === 'many'
                ? { ...valid, topics: Array.from({ length: 51 }, () => 'fuzz') }
                : broken === 'extra'
                  ? { ...valid, extra: 1 }
                  : broken === 'bad-member'
                    ? { ...valid, memberId: 'a b' }
                    : valid;
      return jsonRequest('POST', target, body);
    });

  const junkMember = fc.constantFrom('m', '00000000-0000-4000-8000-000000000000', '%C3%A9');
  const membership = fc.oneof(
    junkMember.map((m) => bare('POST', `/v1/groups/readers/members/${m}/heartbeat`)),
    liveMember.map((m) => bare('POST', `/v1/groups/readers/members/${m}/heartbeat?x=1`)),
    liveMember.map((m) => bare('POST', `/v1/groups/idle/members/${m}/heartbeat`)),
    junkMember.map((m) => bare('DELETE', `/v1/groups/readers/members/${m}`)),
    liveMember.map((m) => bare('DELETE', `/v1/groups/readers/members/${m}?x=1`)),
  );

  // Commits: a stranger, a wrong epoch (next to a right one), a duplicate, a bad count or offset.
  const commit = fc
    .tuple(
      fc.constantFrom(
        'stranger',
        'epoch',
        'epoch-with-valid',
        'duplicate',
        'none',
        'many',
        'negative',
        'topic',
        'group',
      ),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 2 }),
      fc.boolean(),
    )
    .map(([broken, bump, partition, validFirst]) => {
      const epoch = (p: number) => live.epochs[p] ?? 1;
      const good = (p: number) => ({
        topic: 'fuzz',
        partition: p,
        offset: Math.min(1, FUZZ_HWM[p] ?? 0),
        epoch: epoch(p),
      });
      const wrong = { ...good(partition), epoch: epoch(partition) + bump };
      const other = (partition + 1) % 3;
      let memberId = live.memberId;
      let group = 'readers';
      let offsets: unknown[];
      switch (broken) {
        case 'stranger':
          memberId = '00000000-0000-4000-8000-000000000000';
          offsets = [good(partition)];
          break;
        case 'epoch':
          offsets = [wrong];
          break;
        case 'epoch-with-valid':
          offsets = validFirst ? [good(other), wrong] : [wrong, good(other)];
          break;
        case 'duplicate':
          offsets = [good(partition), good(partition)];
          break;
        case 'none':
          offsets = [];
          break;
        case 'many':
          offsets = Array.from({ length: 101 }, (_, i) => ({ ...good(0), partition: i }));
          break;
        case 'negative':
          offsets = [{ ...good(partition), offset: -1 }];
          break;
        case 'topic':
          offsets = [{ ...good(partition), topic: 'nope' }];
          break;
        default:
          group = 'idle';
          offsets = [good(partition)];
      }
      return jsonRequest('POST', `/v1/groups/${group}/offsets`, { memberId, offsets });
    });

  // Resets: `idle` has no live member, so these reach the writes; each is refused somewhere.
  const resetTo = fc
    .record({
      offset: fc.integer({ min: 0, max: 7 }),
      partitions: fc.option(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 4 }), {
        nil: undefined,
      }),
    })
    .filter(({ offset, partitions }) => {
      const chosen = partitions ?? [0, 1, 2];
      const duplicate = new Set(chosen).size !== chosen.length;
      const outOfRange = (p: number) => offset > (FUZZ_HWM[p] ?? 0);
      const rejected = duplicate || chosen.some(outOfRange);
      // Known bugs, see the two 'seed 9002' tests: partitions before the refused one are reset anyway.
      const writesFirst = duplicate || !outOfRange(chosen[0] ?? 0);
      return rejected && !(KNOWN_BUGS_EXCLUDED && writesFirst);
    })
    .map(({ offset, partitions }) =>
      jsonRequest('POST', '/v1/groups/idle/offsets/reset', {
        topic: 'fuzz',
        to: 'offset',
        offset,
        ...(partitions === undefined ? {} : { partitions }),
      }),
    );
  const resetOther = fc
    .constantFrom<[string, unknown]>(
      ['readers', { topic: 'fuzz', to: 'earliest' }],
      ['idle', { topic: 'fuzz', to: 'earliest', partitions: [3] }],
      ['idle', { topic: 'nope', to: 'earliest' }],
      ['idle', { topic: 'fuzz', to: 'timestamp' }],
      ['idle', { topic: 'fuzz', to: 'offset' }],
      ['idle', { topic: 'fuzz', to: 'middle' }],
      ['idle', { topic: 'fuzz', to: 'earliest', extra: 1 }],
    )
    .map(([group, body]) => jsonRequest('POST', `/v1/groups/${group}/offsets/reset`, body));

  const versions = `/schema-registry/subjects/${SUBJECT}/versions`;
  const registry = fc.oneof(
    fc
      .constantFrom<unknown>(
        { schema: SCHEMA_INCOMPATIBLE },
        { schema: 'not json' },
        { schema: '{"type":"record"}' },
        { schema: '' },
        { schema: SCHEMA_V1, schemaType: 'PROTOBUF' },
        { schema: SCHEMA_V1, references: [{ name: 'x', subject: 's', version: 1 }] },
        [],
      )
      .map((body) => jsonRequest('POST', versions, body)),
    fc.constant(jsonRequest('POST', versions, { schema: SCHEMA_V1 }, { 'content-type': 'text/plain' })),
    fc.constant(jsonRequest('POST', '/schema-registry/subjects/a%01b/versions', { schema: SCHEMA_V1 })),
    fc.constant(jsonRequest('PUT', '/schema-registry/config', { compatibility: 'SIDEWAYS' })),
    fc.constant(jsonRequest('PUT', `/schema-registry/config/${SUBJECT}`, { compatibility: 1 })),
    fc
      .constantFrom(
        '/schema-registry/subjects/nope',
        `/schema-registry/subjects/${SUBJECT}?permanent=true`,
        `${versions}/1?permanent=true`,
        `${versions}/9`,
        `${versions}/0`,
        `/schema-registry/config/${SUBJECT}`,
      )
      .map((target) => bare('DELETE', target)),
  );

  // Anything at all on a /v1 route (health aside), made certain to fail by an unknown query parameter.
  const anyWithUnknownQuery = requestArb()
    .filter((request) => request.target.startsWith('/v1/') && !request.target.startsWith('/v1/health'))
    .map((request) => ({
      ...request,
      target: request.target.includes('?')
        ? `${request.target}&zz_unknown=1`
        : `${request.target}?zz_unknown=1`,
    }));

  return fc.oneof(
    { arbitrary: produce, weight: 3 },
    { arbitrary: create, weight: 2 },
    { arbitrary: alter, weight: 2 },
    { arbitrary: removeTopic, weight: 1 },
    { arbitrary: join, weight: 1 },
    { arbitrary: membership, weight: 1 },
    { arbitrary: commit, weight: 2 },
    { arbitrary: resetTo, weight: 1 },
    { arbitrary: resetOther, weight: 1 },
    { arbitrary: registry, weight: 2 },
    { arbitrary: anyWithUnknownQuery, weight: 2 },
  );
}

describe('HTTP fuzzing: rejected requests', () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture();
    live.memberId = fixture.memberId;
    live.epochs = fixture.epochs;
  });
  afterAll(async () => fixture.server.close());

  it('are all refused with a 4xx in the documented shape and leave topics, groups and schemas unchanged', async () => {
    const base = fixture.server.url;
    await check(
      'rejected requests',
      fc.asyncProperty(fc.array(rejectedArb(), { minLength: 1, maxLength: 6 }), async (batch) => {
        const before = await snapshot(base);
        const problems: string[] = [];
        for (const request of batch) {
          const { answer, wirePath } = await send(base, request);
          const found = problemsOf(request.method.toUpperCase(), wirePath, answer, requestTextOf(request));
          if (answer.status < 400) found.push(`accepted (${answer.status}), expected a rejection`);
          if (found.length > 0) {
            problems.push(
              `${describeRequest(request)} → ${answer.status} ${answer.body.slice(0, 300)}: ${found.join('; ')}`,
            );
          }
        }
        const after = await snapshot(base);
        for (const path of SNAPSHOT_PATHS) {
          if (after[path] !== before[path]) {
            problems.push(
              `changed ${path}:\n    before ${before[path]?.slice(0, 600)}\n    after  ${after[path]?.slice(0, 600)}`,
            );
          }
        }
        if (problems.length > 0) throw new Error(problems.join('\n'));
      }),
      { numRuns: runs(150), seed: seed(9_002) },
    );
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------
// Property 3: an accepted produce is readable, record for record.

interface Sent {
  key: Uint8Array | null;
  value: Uint8Array | null;
  /** Header name → value, last one wins (what JSON fetch shows). */
  headers: Map<string, Uint8Array | null>;
  partition?: number;
  timestamp?: number;
}

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** A JSON produce record and what it must read back as. */
const jsonRecordWithExpectation = fc
  .record(
    {
      key: fc.oneof(
        graphemes(12).map((k) => ({ json: { key: k }, bytes: utf8(k) })),
        fc.uint8Array({ maxLength: 12 }).map((k) => ({ json: { keyBase64: b64(k) }, bytes: k })),
      ),
      value: fc.oneof(
        graphemes(40).map((v) => ({ json: { value: v } as object, bytes: utf8(v) as Uint8Array | null })),
        fc.jsonValue({ maxDepth: 3 }).map((v) => ({
          json: { value: v },
          bytes: v === null ? null : typeof v === 'string' ? utf8(v) : utf8(JSON.stringify(v)),
        })),
        fc.constant({ json: {}, bytes: null }),
        fc.uint8Array({ maxLength: 40 }).map((v) => ({ json: { valueBase64: b64(v) }, bytes: v })),
      ),
      headers: fc.dictionary(graphemes(8), fc.option(graphemes(12)), { maxKeys: 4 }),
      partition: fc.integer({ min: 0, max: 2 }),
      timestamp: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
    },
    { requiredKeys: ['value'] },
  )
  .map(({ key, value, headers, partition, timestamp }) => {
    const json: Record<string, unknown> = { ...key?.json, ...value.json };
    const sent: Sent = { key: key?.bytes ?? null, value: value.bytes, headers: new Map() };
    if (headers !== undefined) {
      json.headers = headers;
      for (const [name, v] of Object.entries(headers)) sent.headers.set(name, v === null ? null : utf8(v));
    }
    if (partition !== undefined) {
      json.partition = partition;
      sent.partition = partition;
    }
    if (timestamp !== undefined) {
      json.timestamp = timestamp;
      sent.timestamp = timestamp;
    }
    return { json, sent };
  });

/** A binary produce record (header names may repeat) and what it must read back as. */
const binaryRecordWithExpectation = fc
  .record({
    key: fc.option(fc.uint8Array({ maxLength: 12 })),
    value: fc.option(fc.uint8Array({ maxLength: 40 })),
    headers: fc.array(
      fc.record({
        key: fc.constantFrom('a', 'b', 'trace', ''),
        value: fc.option(fc.uint8Array({ maxLength: 8 })),
      }),
      { maxLength: 4 },
    ),
    partition: fc.option(fc.integer({ min: 0, max: 2 }), { nil: undefined }),
    timestamp: fc.option(fc.nat({ max: Number.MAX_SAFE_INTEGER }), { nil: undefined }),
  })
  .map((record) => {
    const sent: Sent = { key: record.key, value: record.value, headers: new Map() };
    for (const header of record.headers) sent.headers.set(header.key, header.value);
    if (record.partition !== undefined) sent.partition = record.partition;
    if (record.timestamp !== undefined) sent.timestamp = record.timestamp;
    return { record, sent };
  });

/** Breaks a JSON produce body (one record refused), or leaves it alone. */
const poison = fc.option(fc.tuple(invalidRecord, fc.nat()), { freq: 4 });

const produceCase = fc.oneof(
  fc
    .tuple(fc.array(jsonRecordWithExpectation, { minLength: 1, maxLength: 5 }), poison)
    .map(([records, bad]) => {
      const list: unknown[] = records.map((r) => r.json);
      if (bad !== null) list.splice(bad[1] % (list.length + 1), 0, bad[0]);
      return {
        body: { kind: 'text', text: JSON.stringify({ records: list }) } as BodySpec,
        contentType: 'application/json',
        sent: records.map((r) => r.sent),
        poisoned: bad !== null,
      };
    }),
  fc.array(binaryRecordWithExpectation, { minLength: 1, maxLength: 5 }).map((records) => ({
    body: { kind: 'bytes', bytes: encodeProduceBody(records.map((r) => r.record)) } as BodySpec,
    contentType: 'application/vnd.streambed.produce.v1',
    sent: records.map((r) => r.sent),
    poisoned: false,
  })),
);

function expectedJson(sent: Sent, offset: number): Record<string, unknown> {
  const headers: Record<string, null> = {};
  const headersBase64: Record<string, string> = {};
  for (const [name, value] of sent.headers) {
    if (value === null) headers[name] = null;
    else headersBase64[name] = b64(value);
  }
  return {
    offset,
    ...(sent.key === null ? { key: null } : { keyBase64: b64(sent.key) }),
    ...(sent.value === null ? { value: null } : { valueBase64: b64(sent.value) }),
    headers,
    ...(Object.keys(headersBase64).length > 0 ? { headersBase64 } : {}),
  };
}

describe('HTTP fuzzing: produce then fetch', () => {
  let server: LocalServer;
  beforeAll(async () => {
    server = await startLocalServer({ port: 0, memory: true });
    // Any int64 timestamp is valid here; the bounds are checked in test/unit/produce-rules.test.ts.
    await ok(server.url, 'POST', '/v1/topics', {
      name: 'fuzz',
      partitions: 3,
      config: { 'message.timestamp.after.max.ms': '9223372036854775807' },
    });
  });
  afterAll(async () => server.close());

  it('reads back every record of an accepted produce exactly; a refused one writes nothing', async () => {
    const base = server.url;
    const watermarks = async () =>
      JSON.parse((await call(base, 'GET', '/v1/topics/fuzz')).body).partitions.map(
        (p: { highWatermark: number }) => p.highWatermark,
      );
    let requests = 0;
    await check(
      'produce then fetch',
      fc.asyncProperty(produceCase, fc.option(fc.stringMatching(/^[!-~]{1,100}$/)), async (c, key) => {
        const before = await watermarks();
        const headers: Record<string, string> = { 'content-type': c.contentType };
        // A key is unique per request: a reused one would (rightly) answer with an earlier request's offsets.
        requests += 1;
        if (key !== null) headers['idempotency-key'] = `${key}.${requests}`;
        const request: FuzzRequest = {
          method: 'POST',
          target: '/v1/topics/fuzz/records',
          headers,
          body: c.body,
        };
        const { answer, wirePath } = await send(base, request);
        const problems = problemsOf('POST', wirePath, answer, requestTextOf(request));
        if (problems.length > 0) throw new Error(`${answer.status} ${answer.body}: ${problems.join('; ')}`);
        if (answer.status !== 200) {
          expect(c.poisoned, `refused a valid produce: ${answer.status} ${answer.body}`).toBe(true);
          expect(await watermarks()).toEqual(before);
          return;
        }
        expect(c.poisoned, `accepted a poisoned produce: ${answer.body}`).toBe(false);
        const offsets = JSON.parse(answer.body).offsets as { partition: number; offset: number }[];
        expect(offsets).toHaveLength(c.sent.length);
        for (const [i, sent] of c.sent.entries()) {
          const at = offsets[i];
          if (at === undefined) throw new Error(`no offset for record ${i}`);
          if (sent.partition !== undefined) expect(at.partition).toBe(sent.partition);
          const fetched = await call(
            base,
            'GET',
            `/v1/topics/fuzz/partitions/${at.partition}/records?offset=${at.offset}&max_bytes=1&encoding=base64`,
          );
          expect(fetched.status).toBe(200);
          const record = JSON.parse(fetched.body).records[0];
          const { timestamp, ...rest } = record;
          expect(rest, `record ${i} of ${answer.body}`).toEqual(expectedJson(sent, at.offset));
          if (sent.timestamp !== undefined) expect(timestamp).toBe(sent.timestamp);
        }
      }),
      { numRuns: runs(300), seed: seed(9_003) },
    );
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------
// Property 4: the same rules for requests written raw on the socket, where no client normalizes the
// target (`..` and `.` segments stay, absolute-form and `*` targets, bodies on GET and HEAD).

interface RawRequest {
  method: string;
  target: string;
  headers: [string, string][];
  body: BodySpec;
  framing: 'content-length' | 'chunked' | 'declared-too-large';
}

const rawJunkSegment = fc.oneof(junkSegment, fc.constantFrom('..', '.', '%2e%2e', '%2E.', ''));

const rawTargetArb = fc.oneof(
  {
    arbitrary: fc
      .tuple(
        fc.constantFrom(...ROUTES, ...NON_ROUTES.map((path) => `GET ${path}`)),
        fc.oneof({ arbitrary: fc.constant(''), weight: 3 }, randomQuery, rawQuery),
      )
      .chain(([route, query]) =>
        pathArb(route.split(' ')[1] ?? '/', rawJunkSegment).map((path) =>
          query === '' ? path : `${path}?${query}`,
        ),
      ),
    weight: 8,
  },
  fc.constantFrom(
    '*',
    '/v1/topics/../topics',
    '/v1/./health',
    '/v1/topics/fuzz/../other',
    '/schema-registry/../v1/topics',
    '/v1/../schema-registry/subjects',
    '/v1/topics#fragment',
    '/v1/topics?offset=0#x',
    'http://127.0.0.1/v1/topics',
    'http://127.0.0.1/schema-registry/subjects',
  ),
);

const rawRequestArb: fc.Arbitrary<RawRequest> = fc
  .record({
    method: fc.oneof(
      { arbitrary: fc.constantFrom(...STANDARD_METHODS), weight: 6 },
      fc.constantFrom(...METHODS.filter((m) => m !== 'CONNECT' && !STANDARD_METHODS.includes(m))),
      // Known bugs, see the tests 'seed 9001: a method node does not know' and 'seed 9004: CONNECT'.
      ...(KNOWN_BUGS_EXCLUDED ? [] : [methodToken, fc.constant('CONNECT')]),
    ),
    target: rawTargetArb,
    contentType: fc.option(
      fc.oneof(fc.constantFrom(...CONTENT_TYPES), fc.string({ unit: headerChar, maxLength: 30 })),
    ),
    extra: fc.array(
      fc.oneof(
        fc.constant<[string, string]>(['Expect', '100-continue']),
        // Known bug, see the test 'seed 9004: an Expect other than 100-continue'.
        ...(KNOWN_BUGS_EXCLUDED
          ? []
          : [fc.tuple(fc.constant('Expect'), fc.constantFrom('foo', '100-continue, x', ''))]),
        fc.tuple(
          fc.constantFrom('Idempotency-Key', 'X-Request-Id', 'Accept', 'Authorization'),
          fc.string({ unit: headerChar, maxLength: 30 }),
        ),
      ),
      { maxLength: 2 },
    ),
    body: bodyArb.filter((body) => body.kind !== 'big'),
    framing: fc.oneof(
      { arbitrary: fc.constant('content-length' as const), weight: 6 },
      fc.constant('chunked' as const),
      fc.constant('declared-too-large' as const),
    ),
  })
  .map(({ method, target, contentType, extra, body, framing }) => ({
    method,
    target,
    headers: [...(contentType === null ? [] : [['Content-Type', contentType] as [string, string]]), ...extra],
    body,
    framing,
  }))
  // Known bug, see the test 'seed 9001: a body over the edge limit under /schema-registry'.
  .filter(
    (r) =>
      !(
        KNOWN_BUGS_EXCLUDED &&
        r.framing === 'declared-too-large' &&
        isRegistryPath(r.target.split('?')[0] ?? '')
      ),
  );

function encodeRaw(request: RawRequest): { head: string; body: Uint8Array } {
  const spec = bodyOf(request.body);
  const bytes = spec === undefined ? new Uint8Array(0) : typeof spec === 'string' ? utf8(spec) : spec;
  const lines = [`${request.method} ${request.target} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close'];
  // Header values are latin1 on the wire; `encodeRaw` writes the head as latin1.
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  let body = bytes;
  if (request.framing === 'declared-too-large') {
    lines.push(`Content-Length: ${MAX_EDGE_BODY_BYTES + 1}`);
    body = new Uint8Array(0);
  } else if (request.framing === 'chunked') {
    lines.push('Transfer-Encoding: chunked');
    const size = Buffer.from(`${bytes.byteLength.toString(16)}\r\n`, 'latin1');
    body =
      bytes.byteLength === 0 ? utf8('0\r\n\r\n') : Buffer.concat([size, bytes, Buffer.from('\r\n0\r\n\r\n')]);
  } else lines.push(`Content-Length: ${bytes.byteLength}`);
  return { head: `${lines.join('\r\n')}\r\n\r\n`, body };
}

describe('HTTP fuzzing: raw requests on the socket', () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture();
    live.memberId = fixture.memberId;
    live.epochs = fixture.epochs;
  });
  afterAll(async () => fixture.server.close());

  it('answer below 500, in time, in the documented error shape', async () => {
    const base = fixture.server.url;
    await check(
      'raw requests',
      fc.asyncProperty(rawRequestArb, async (request) => {
        await restoreFixtures(base);
        const { head, body } = encodeRaw(request);
        const answer = await sendRaw(base, head, body);
        const summary = `${head.split('\r\n')[0]?.slice(0, 300)} (${request.framing}, ${body.byteLength} bytes)`;
        if (answer === undefined) throw new Error(`${summary}: no HTTP answer before the connection closed`);
        const text = `${head}\n${Buffer.from(body).toString('latin1')}\n${requestTextOf({ ...request, headers: {} })}`;
        const problems = problemsOf(request.method, request.target.split('?')[0] ?? '', answer, text);
        if (problems.length > 0) {
          throw new Error(
            `${summary} → ${answer.status} ${answer.body.slice(0, 300)}\n  ${problems.join('\n  ')}`,
          );
        }
      }),
      { numRuns: runs(400), seed: seed(9_004) },
    );
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------
// Regression tests for the bugs the fuzzer found, each with its minimal counterexample, named after the
// seed that found it. Each failed before its fix.

describe('HTTP fuzzing: regressions', () => {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await startFixture();
  });
  afterAll(async () => fixture.server.close());

  async function expectDocumentedShape(request: FuzzRequest): Promise<void> {
    const { answer, wirePath } = await send(fixture.server.url, request);
    const problems = problemsOf(request.method.toUpperCase(), wirePath, answer, requestTextOf(request));
    expect(problems, `${describeRequest(request)} → ${answer.status} ${JSON.stringify(answer.body)}`).toEqual(
      [],
    );
    expect(answer.status).toBeGreaterThanOrEqual(400);
  }

  async function expectRawDocumentedShape(head: string): Promise<void> {
    const answer = await sendRaw(fixture.server.url, head, new Uint8Array(0));
    expect(answer, `${head.split('\r\n')[0]}: no answer`).toBeDefined();
    if (answer === undefined) return;
    const target = head.split(' ')[1] ?? '';
    const problems = problemsOf(head.split(' ')[0] ?? '', target.split('?')[0] ?? '', answer, head);
    expect(problems, `${head.split('\r\n')[0]} → ${answer.status} ${JSON.stringify(answer.body)}`).toEqual(
      [],
    );
  }

  it("seed 9001: a body over the edge limit under /schema-registry is refused in Confluent's error shape", async () => {
    // The node layer refuses the body before the router; it must render the refusal in the path's dialect,
    // as the router (and so API Gateway + Lambda) does.
    await expectDocumentedShape({
      method: 'delete',
      target: '/schema-registry/schemas/ids//schema?offset=0',
      headers: {},
      body: { kind: 'big', name: 'body-over-edge' },
    });
  });

  it('seed 9001: a method node does not know ("-") gets a 400 in the documented error shape', async () => {
    // Also any lower-case method fetch does not normalize (`patch`), and any other unknown token.
    await expectDocumentedShape({
      method: '-',
      target: '/v1/health?a',
      headers: { 'content-type': 'application/json' },
      body: { kind: 'text', text: '{"compatibility":"BACKWARD"}' },
    });
  });

  it('seed 9001: a header section over 16 KB gets a 400 in the documented error shape', async () => {
    // Found as POST /v1/groups/éééééééééééé/members?a with a 20 000-byte x-fuzz-dnq header.
    await expectDocumentedShape({
      method: 'GET',
      target: '/v1/topics',
      headers: { 'x-fuzz-dnq': 'h'.repeat(20_000) },
      body: { kind: 'none' },
    });
  });

  it('seed 9002: an offset reset listing a partition twice is refused before anything is written', async () => {
    const base = fixture.server.url;
    const before = await call(base, 'GET', '/v1/groups/idle');
    const reset = await call(base, 'POST', '/v1/groups/idle/offsets/reset', {
      topic: 'fuzz',
      to: 'offset',
      offset: 0,
      partitions: [2, 2],
    });
    const after = await call(base, 'GET', '/v1/groups/idle');
    expect(reset.status).toBeGreaterThanOrEqual(400);
    expect(after.body, `refused with ${reset.status} ${reset.body}`).toBe(before.body);
    // A retry can never succeed, so the error must not say it might (CONFLICT is retriable).
    expect(JSON.parse(reset.body).error.retriable).toBe(false);
  });

  it('seed 9002: an offset reset refused with 416 for one partition writes none of the others', async () => {
    const base = fixture.server.url;
    const before = await call(base, 'GET', '/v1/groups/idle');
    // High watermarks of fuzz are 5, 2, 0: partitions 0 and 1 accept offset 1, partition 2 does not.
    const reset = await call(base, 'POST', '/v1/groups/idle/offsets/reset', {
      topic: 'fuzz',
      to: 'offset',
      offset: 1,
    });
    const after = await call(base, 'GET', '/v1/groups/idle');
    expect(reset.status).toBe(416);
    expect(after.body, `refused with ${reset.status} ${reset.body}`).toBe(before.body);
  });

  it('seed 9004: an Expect other than 100-continue gets a 400 in the documented error shape', async () => {
    await expectRawDocumentedShape(
      'GET /v1/health?a HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nExpect: foo\r\nContent-Length: 0\r\n\r\n',
    );
  });

  it('seed 9004: CONNECT gets a 405 in the documented error shape', async () => {
    await expectRawDocumentedShape(
      'CONNECT /v1/health?a HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
    );
  });
});
