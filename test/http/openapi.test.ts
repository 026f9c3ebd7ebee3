/**
 * The API document (lambdas/http/openapi.ts, docs/openapi.json): valid OpenAPI 3.1 by a maintained
 * validator, the committed file current, the same routes as the router and as the deployed API, and
 * true to what the server answers — a scripted scenario calls every operation of a local in-memory
 * server and checks each status against the operation's listed responses and each JSON body against
 * the document's schema for it (turned back into a validator by zod's `fromJSONSchema`, so the check
 * reads the document, not the zod schemas it was made from).
 */
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { encodeProduceBody } from '../../client/wire/binary.ts';
import { apiRouteTables, openApiDocumentText } from '../../lambdas/http/api-routes.ts';
import { createRouter } from '../../lambdas/http/router.ts';
import { createEmbeddedBackend } from '../../lambdas/runtime/backends.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';
import { createServices } from '../../lambdas/runtime/services.ts';
import { OPENAPI_DOC } from '../../lib/openapi-doc.ts';
import { STREAMBED_CONCERNS } from '../../lib/streambed.ts';

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is JSON.
type Json = any;

const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const TOKEN = 'openapi-test-token';

const document: Json = JSON.parse(openApiDocumentText());

/** `METHOD /path/{param}` of every operation in the document. */
function documentedOperations(doc: Json): string[] {
  return Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => METHODS.includes(key))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );
}

/** Follows a local `$ref` (`#/components/...`) until the object is not one. */
function deref(doc: Json, value: Json): Json {
  let current = value;
  while (current?.$ref !== undefined) {
    current = (current.$ref as string)
      .slice(2)
      .split('/')
      .reduce((node: Json, key) => node?.[key.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
    if (current === undefined) throw new Error(`unresolved ${value.$ref}`);
  }
  return current;
}

/** A schema with every `$ref` inside it replaced by what it names (the document has no cycles). */
function inline(doc: Json, schema: Json): Json {
  if (Array.isArray(schema)) return schema.map((each) => inline(doc, each));
  if (schema === null || typeof schema !== 'object') return schema;
  const resolved = deref(doc, schema);
  return Object.fromEntries(Object.entries(resolved).map(([key, value]) => [key, inline(doc, value)]));
}

describe('the API document', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    // Act
    const validator = new Validator();
    const result = await validator.validate(document);

    // Assess
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('holds only schemas that read back as JSON Schema (parameters, bodies, responses)', () => {
    // Prepare: every `schema` object in the document, with its place
    const schemas: [string, Json][] = [];
    const collect = (node: Json, at: string): void => {
      if (node === null || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node)) {
        if (key === 'schema' && typeof value === 'object') schemas.push([at, value]);
        else collect(value, `${at}/${key}`);
      }
    };
    collect(document.paths, '#/paths');

    // Act
    const unreadable = schemas.flatMap(([at, schema]) => {
      try {
        z.fromJSONSchema(inline(document, schema));
        return [];
      } catch (error) {
        return [`${at}: ${String(error)}`];
      }
    });

    // Assess
    expect(schemas.length).toBeGreaterThan(100);
    expect(unreadable).toEqual([]);
  });

  it('is committed as docs/openapi.json (npm run docs:openapi writes it)', () => {
    // Prepare
    const committed = JSON.parse(readFileSync(OPENAPI_DOC, 'utf8'));

    // Assess
    expect(committed).toEqual(document);
  });

  it('lists every route of the router, and nothing else', () => {
    // Prepare: the router as the local server builds it
    const backend = createEmbeddedBackend({ memory: true });
    const services = createServices(backend);
    const router = createRouter({
      topics: services.topics,
      log: services.log,
      routeTables: apiRouteTables(services),
    });

    // Act
    const routed = router.routes.map((route) => `${route.method} ${route.path}`);

    // Assess
    expect(new Set(routed).size).toBe(routed.length);
    expect([...routed].sort()).toEqual(documentedOperations(document).sort());
  });

  it('lists every route of the deployed API, each served by a function', () => {
    // Prepare: API Gateway route keys; `ANY /p/{proxy+}` serves every path below /p
    const deployed = STREAMBED_CONCERNS.flatMap((concern) =>
      concern.routes.map((route) => ({ method: route.method as string, path: route.path })),
    );
    const serves = (route: { method: string; path: string }, method: string, path: string): boolean =>
      (route.method === method || route.method === 'ANY') &&
      (route.path === path ||
        (route.path.endsWith('/{proxy+}') && path.startsWith(route.path.slice(0, -'{proxy+}'.length))));

    // Act
    const operations = documentedOperations(document).map((key) => key.split(' ') as [string, string]);
    const unserved = operations.filter(([method, path]) => !deployed.some((r) => serves(r, method, path)));
    const undocumented = deployed.filter(
      (route) =>
        route.method !== 'ANY' && !operations.some(([m, p]) => m === route.method && p === route.path),
    );

    // Assess
    expect(unserved).toEqual([]);
    expect(undocumented).toEqual([]);
  });

  it('lists the 400 the router answers a malformed percent-encoding in a path parameter with', async () => {
    // Prepare
    const services = createServices(createEmbeddedBackend({ memory: true }));
    const router = createRouter({
      topics: services.topics,
      log: services.log,
      routeTables: apiRouteTables(services),
    });
    const withParameters = documentedOperations(document).filter((key) => key.includes('{'));

    // Act
    const unlisted: string[] = [];
    for (const key of withParameters) {
      const [method, template] = key.split(' ') as [string, string];
      const answer = await router({
        method,
        path: template.replace(/\{\w+\}/g, '%ZZ'),
        query: new URLSearchParams(),
        rawQuery: '',
        headers: {},
        body: new Uint8Array(0),
      });
      const listed = document.paths[template][method.toLowerCase()].responses[String(answer.status)];
      if (listed === undefined) unlisted.push(`${key} → ${answer.status}`);
    }

    // Assess
    expect(withParameters.length).toBeGreaterThan(20);
    expect(unlisted).toEqual([]);
  });

  it('gives every operation its area’s error shape, and 401 (but health), 413 and 500', () => {
    // Act
    const wrong: string[] = [];
    for (const key of documentedOperations(document)) {
      const [method, path] = key.split(' ') as [string, string];
      const responses = document.paths[path][method.toLowerCase()].responses as Record<string, Json>;
      const shape = path.startsWith('/schema-registry') ? 'RegistryError' : 'Error';
      const errors = Object.keys(responses).filter((status) => Number(status) >= 400);
      for (const status of errors) {
        const media = Object.values(deref(document, responses[status]).content) as Json[];
        if (media.length !== 1 || media[0].schema.$ref !== `#/components/schemas/${shape}`) {
          wrong.push(`${key} ${status}: not ${shape}`);
        }
      }
      const always = key === 'GET /v1/health' ? ['413', '500'] : ['401', '413', '500'];
      for (const status of always) if (!errors.includes(status)) wrong.push(`${key}: no ${status}`);
    }

    // Assess
    expect(wrong).toEqual([]);
    expect(document.components.schemas.Error.properties.error.required).toEqual([
      'code',
      'message',
      'retriable',
    ]);
    expect(document.components.schemas.RegistryError.required).toEqual(['error_code', 'message']);
  });
});

describe('the API document against a running server', () => {
  let server: LocalServer;
  /** Operation → statuses seen. */
  const seen = new Map<string, Set<number>>();
  const problems: string[] = [];

  beforeAll(async () => {
    server = await startLocalServer({ port: 0, memory: true, token: TOKEN, subscriptions: false });
  });
  afterAll(async () => {
    await server?.close();
  });

  interface Call {
    method: string;
    /** The document's path, e.g. `/v1/topics/{topic}`. */
    template: string;
    /** Values of the template's parameters. */
    params?: Record<string, string>;
    query?: string;
    json?: unknown;
    body?: Uint8Array;
    headers?: Record<string, string>;
    auth?: boolean;
  }

  /** Calls the server, checks the answer against the document, and returns status and JSON body. */
  async function call(spec: Call): Promise<{ status: number; body: Json }> {
    const path = spec.template.replace(/\{(\w+)\}/g, (_, name: string) =>
      encodeURIComponent(spec.params?.[name] ?? ''),
    );
    const headers: Record<string, string> = { ...spec.headers };
    if (spec.auth !== false) headers.authorization = `Bearer ${TOKEN}`;
    let body: string | Uint8Array | undefined;
    if (spec.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(spec.json);
    } else if (spec.body !== undefined) body = spec.body;
    const response = await fetch(`${server.url}${path}${spec.query === undefined ? '' : `?${spec.query}`}`, {
      method: spec.method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
    const bytes = new Uint8Array(await response.arrayBuffer());
    const key = `${spec.method} ${spec.template}`;
    const where = `${key} → ${response.status}`;
    const operation = document.paths[spec.template]?.[spec.method.toLowerCase()];
    if (operation === undefined) throw new Error(`${key} is not in the document`);
    if (!seen.has(key)) seen.set(key, new Set());
    seen.get(key)?.add(response.status);

    const documented = operation.responses[String(response.status)];
    if (documented === undefined) {
      problems.push(`${where}: status not listed (${new TextDecoder().decode(bytes).slice(0, 200)})`);
      return { status: response.status, body: undefined };
    }
    const expected = deref(document, documented);
    const contentType = (response.headers.get('content-type') ?? '').split(';')[0] ?? '';
    if (expected.content === undefined) {
      if (bytes.byteLength > 0) problems.push(`${where}: a body where the document says none`);
      return { status: response.status, body: undefined };
    }
    const media = expected.content[contentType];
    if (media === undefined) {
      problems.push(`${where}: content type ${contentType} not listed`);
      return { status: response.status, body: undefined };
    }
    if (media.schema?.contentMediaType !== undefined) return { status: response.status, body: bytes };
    const parsed = JSON.parse(new TextDecoder().decode(bytes));
    const schema = z.fromJSONSchema(inline(document, media.schema));
    const result = schema.safeParse(parsed);
    if (!result.success) {
      problems.push(`${where}: body does not match the document: ${z.prettifyError(result.error)}`);
    }
    return { status: response.status, body: parsed };
  }

  async function expectStatus(spec: Call, status: number): Promise<Json> {
    const answer = await call(spec);
    expect(answer.status, `${spec.method} ${spec.template} ${JSON.stringify(answer.body)}`).toBe(status);
    return answer.body;
  }

  it('answers every operation as the document says, statuses and bodies', async () => {
    // Act: a scenario over every route, with the errors each area answers
    await expectStatus({ method: 'GET', template: '/v1/health', auth: false }, 200);
    expect(await expectStatus({ method: 'GET', template: '/v1/openapi.json' }, 200)).toEqual(document);
    await expectStatus({ method: 'GET', template: '/v1/openapi.json', auth: false }, 401);
    expect(await expectStatus({ method: 'GET', template: '/v1/janitor' }, 200)).toEqual({ lastRun: null });
    await expectStatus({ method: 'GET', template: '/v1/janitor', query: 'since=0' }, 400);

    // Topics
    const topic = { topic: 'orders' };
    await expectStatus(
      { method: 'POST', template: '/v1/topics', json: { name: 'orders', partitions: 2 } },
      201,
    );
    await expectStatus(
      { method: 'POST', template: '/v1/topics', json: { name: 'orders', partitions: 2 } },
      409,
    );
    await expectStatus({ method: 'POST', template: '/v1/topics', json: { name: 'x', partitions: 0 } }, 400);
    await expectStatus(
      { method: 'POST', template: '/v1/topics', json: {}, headers: { 'content-type': 'text/plain' } },
      415,
    );
    await expectStatus({ method: 'GET', template: '/v1/topics' }, 200);
    await expectStatus({ method: 'GET', template: '/v1/topics', query: 'limit=1' }, 400);
    await expectStatus({ method: 'GET', template: '/v1/topics/{topic}', params: topic }, 200);
    await expectStatus({ method: 'GET', template: '/v1/topics/{topic}', params: { topic: 'none' } }, 404);
    await expectStatus(
      {
        method: 'PATCH',
        template: '/v1/topics/{topic}',
        params: topic,
        json: { config: { 'retention.ms': 60000 } },
      },
      200,
    );
    const records = '/v1/topics/{topic}/records';
    await expectStatus(
      {
        method: 'POST',
        template: records,
        params: topic,
        headers: { 'idempotency-key': 'first' },
        json: {
          records: [
            { key: 'k', value: 'v', headers: { trace: 'abc' }, partition: 0 },
            { valueBase64: '/w==', partition: 0 },
            { value: { n: 1 }, headers: { none: null }, partition: 1 },
          ],
        },
      },
      200,
    );
    const binary = encodeProduceBody([
      {
        key: null,
        value: new Uint8Array([0xff, 0xfe]),
        headers: [{ key: 'b', value: new Uint8Array([0xff]) }],
      },
    ]);
    await expectStatus(
      {
        method: 'POST',
        template: records,
        params: topic,
        body: binary,
        headers: { 'content-type': 'application/vnd.streambed.produce.v1' },
      },
      200,
    );
    await expectStatus(
      { method: 'POST', template: records, params: { topic: 'none' }, json: { records: [{}] } },
      404,
    );
    const fetchPath = '/v1/topics/{topic}/partitions/{partition}/records';
    const partition0 = { ...topic, partition: '0' };
    await expectStatus({ method: 'GET', template: fetchPath, params: partition0, query: 'offset=0' }, 200);
    await expectStatus(
      { method: 'GET', template: fetchPath, params: partition0, query: 'offset=0&encoding=base64' },
      200,
    );
    await expectStatus(
      {
        method: 'GET',
        template: fetchPath,
        params: partition0,
        query: 'offset=0',
        headers: { accept: 'application/vnd.streambed.batches.v1' },
      },
      200,
    );
    await expectStatus({ method: 'GET', template: fetchPath, params: partition0, query: 'offset=99' }, 416);
    await expectStatus({ method: 'GET', template: fetchPath, params: partition0 }, 400);
    await expectStatus(
      { method: 'GET', template: fetchPath, params: { ...topic, partition: '7' }, query: 'offset=0' },
      404,
    );
    const offsetsPath = '/v1/topics/{topic}/partitions/{partition}/offsets';
    await expectStatus({ method: 'GET', template: offsetsPath, params: partition0 }, 200);
    await expectStatus(
      { method: 'GET', template: offsetsPath, params: partition0, query: 'timestamp=0' },
      200,
    );
    const deletePath = '/v1/topics/{topic}/records/delete';
    const deleteTo = (offset: number) => ({ partitions: [{ partition: 0, offset }] });
    await expectStatus({ method: 'POST', template: deletePath, params: topic, json: deleteTo(1) }, 200);
    await expectStatus({ method: 'POST', template: deletePath, params: topic, json: deleteTo(999) }, 416);
    await expectStatus(
      { method: 'POST', template: deletePath, params: topic, json: { partitions: [] } },
      400,
    );
    await expectStatus(
      { method: 'POST', template: deletePath, params: { topic: 'none' }, json: deleteTo(0) },
      404,
    );

    // Groups
    const group = { group: 'billing' };
    const joined = await expectStatus(
      { method: 'POST', template: '/v1/groups/{group}/members', params: group, json: { topics: ['orders'] } },
      201,
    );
    await expectStatus(
      { method: 'POST', template: '/v1/groups/{group}/members', params: group, json: { topics: ['none'] } },
      404,
    );
    const member = { ...group, member: joined.memberId as string };
    const beat = await expectStatus(
      { method: 'POST', template: '/v1/groups/{group}/members/{member}/heartbeat', params: member },
      200,
    );
    const lease = beat.assignments[0];
    const commit = (epoch: number) => ({
      memberId: member.member,
      offsets: [{ topic: lease.topic, partition: lease.partition, offset: 1, epoch }],
    });
    await expectStatus(
      { method: 'POST', template: '/v1/groups/{group}/offsets', params: group, json: commit(lease.epoch) },
      200,
    );
    await expectStatus(
      {
        method: 'POST',
        template: '/v1/groups/{group}/offsets',
        params: group,
        json: commit(lease.epoch + 1),
      },
      409,
    );
    await expectStatus({ method: 'GET', template: '/v1/groups' }, 200);
    await expectStatus({ method: 'GET', template: '/v1/groups/{group}', params: group }, 200);
    await expectStatus({ method: 'DELETE', template: '/v1/groups/{group}', params: group }, 400);
    await expectStatus(
      { method: 'DELETE', template: '/v1/groups/{group}/members/{member}', params: member },
      204,
    );
    await expectStatus(
      {
        method: 'POST',
        template: '/v1/groups/{group}/offsets/reset',
        params: group,
        json: { topic: 'orders', to: 'earliest' },
      },
      200,
    );
    await expectStatus({ method: 'DELETE', template: '/v1/groups/{group}', params: group }, 204);

    // Subscriptions
    const subscription = { subscription: 'audit' };
    await expectStatus(
      {
        method: 'POST',
        template: '/v1/subscriptions',
        json: { name: 'audit', topic: 'orders', target: { url: 'http://127.0.0.1:9/hook' }, enabled: false },
      },
      201,
    );
    await expectStatus(
      {
        method: 'POST',
        template: '/v1/subscriptions',
        json: { name: 'x', topic: 'none', target: { url: 'http://127.0.0.1:9/' } },
      },
      404,
    );
    await expectStatus({ method: 'GET', template: '/v1/subscriptions' }, 200);
    await expectStatus(
      { method: 'GET', template: '/v1/subscriptions/{subscription}', params: subscription },
      200,
    );
    await expectStatus(
      { method: 'GET', template: '/v1/subscriptions/{subscription}', params: { subscription: 'none' } },
      404,
    );
    await expectStatus(
      {
        method: 'PATCH',
        template: '/v1/subscriptions/{subscription}',
        params: subscription,
        json: { batchSize: 5 },
      },
      200,
    );
    await expectStatus(
      {
        method: 'PATCH',
        template: '/v1/subscriptions/{subscription}',
        params: subscription,
        json: { batchSize: 0 },
      },
      400,
    );
    await expectStatus(
      { method: 'DELETE', template: '/v1/subscriptions/{subscription}', params: subscription },
      204,
    );

    // Schema registry
    const sr = '/schema-registry';
    const avro = {
      schema: JSON.stringify({ type: 'record', name: 'Order', fields: [{ name: 'id', type: 'string' }] }),
    };
    const a = { subject: 'a-value' };
    const b = { subject: 'b-value' };
    await expectStatus({ method: 'GET', template: sr }, 200);
    await expectStatus({ method: 'GET', template: `${sr}/schemas/types` }, 200);
    await expectStatus(
      { method: 'POST', template: `${sr}/subjects/{subject}/versions`, params: a, json: avro },
      200,
    );
    await expectStatus(
      { method: 'POST', template: `${sr}/subjects/{subject}/versions`, params: b, json: avro },
      200,
    );
    await expectStatus(
      { method: 'POST', template: `${sr}/subjects/{subject}/versions`, params: a, json: { schema: '{' } },
      422,
    );
    await expectStatus({ method: 'GET', template: `${sr}/subjects` }, 200);
    await expectStatus({ method: 'POST', template: `${sr}/subjects/{subject}`, params: a, json: avro }, 200);
    await expectStatus({ method: 'GET', template: `${sr}/subjects/{subject}/versions`, params: a }, 200);
    await expectStatus(
      { method: 'GET', template: `${sr}/subjects/{subject}/versions`, params: { subject: 'none' } },
      404,
    );
    const version = { ...a, version: '1' };
    await expectStatus(
      { method: 'GET', template: `${sr}/subjects/{subject}/versions/{version}`, params: version },
      200,
    );
    await expectStatus(
      {
        method: 'GET',
        template: `${sr}/subjects/{subject}/versions/{version}/schema`,
        params: { ...a, version: 'latest' },
      },
      200,
    );
    const id = { id: '1' };
    await expectStatus({ method: 'GET', template: `${sr}/schemas/ids/{id}`, params: id }, 200);
    await expectStatus({ method: 'GET', template: `${sr}/schemas/ids/{id}`, params: { id: '99' } }, 404);
    await expectStatus({ method: 'GET', template: `${sr}/schemas/ids/{id}/schema`, params: id }, 200);
    await expectStatus({ method: 'GET', template: `${sr}/schemas/ids/{id}/subjects`, params: id }, 200);
    await expectStatus({ method: 'GET', template: `${sr}/schemas/ids/{id}/versions`, params: id }, 200);
    await expectStatus({ method: 'GET', template: `${sr}/config` }, 200);
    await expectStatus({ method: 'PUT', template: `${sr}/config`, json: { compatibility: 'FULL' } }, 200);
    await expectStatus({ method: 'PUT', template: `${sr}/config`, json: { compatibility: 'SOME' } }, 422);
    await expectStatus(
      { method: 'PUT', template: `${sr}/config/{subject}`, params: a, json: { compatibility: 'NONE' } },
      200,
    );
    await expectStatus({ method: 'GET', template: `${sr}/config/{subject}`, params: a }, 200);
    await expectStatus({ method: 'DELETE', template: `${sr}/config/{subject}`, params: a }, 200);
    await expectStatus(
      {
        method: 'POST',
        template: `${sr}/compatibility/subjects/{subject}/versions/{version}`,
        params: version,
        json: avro,
      },
      200,
    );
    await expectStatus(
      {
        method: 'POST',
        template: `${sr}/compatibility/subjects/{subject}/versions`,
        params: a,
        query: 'verbose=true',
        json: avro,
      },
      200,
    );
    await expectStatus(
      { method: 'DELETE', template: `${sr}/subjects/{subject}/versions/{version}`, params: version },
      200,
    );
    await expectStatus({ method: 'DELETE', template: `${sr}/subjects/{subject}`, params: b }, 200);
    await expectStatus({ method: 'GET', template: `${sr}/subjects`, auth: false }, 401);

    await expectStatus({ method: 'DELETE', template: '/v1/topics/{topic}', params: topic }, 204);
    await expectStatus({ method: 'DELETE', template: '/v1/topics/{topic}', params: topic }, 404);

    // Assess: every answer was as documented, and every operation answered a success at least once
    expect(problems).toEqual([]);
    const unexercised = documentedOperations(document).filter(
      (key) => ![...(seen.get(key) ?? [])].some((status) => status < 300),
    );
    expect(unexercised).toEqual([]);
  });
});
