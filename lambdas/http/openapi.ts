/**
 * The OpenAPI 3.1 document of the HTTP API, built by walking route tables: every route carries its
 * `doc` (summary, query, body and response schemas as zod schemas, the error statuses it answers), and
 * the zod schemas become JSON Schema 2020-12 (OpenAPI 3.1's dialect) through `z.toJSONSchema`. The
 * document therefore describes the schemas the routes validate with, and a route cannot be added
 * without its entry (`Route.doc` is required).
 *
 * Rules the builder applies to every operation, so routes do not repeat them:
 * - Path parameters come from the path (`{topic}`) and are described once, in PATH_PARAMETERS.
 * - Every route may answer 413 (its Lambda event would exceed Lambda's bound, checked before parsing)
 *   and 500; every route but a public one may answer 401; every route with a path parameter may answer
 *   400 (the router refuses a parameter with malformed percent-encoding before the route sees it). The other error statuses are the route's
 *   own list (`errors`). An error body is the table's error shape (`RouteTable.errorBody`), by default
 *   the Streambed envelope `{"error":{"code","message","retriable",...details}}`.
 * - Request bodies are described as the client sends them (zod's input side); responses as the server
 *   writes them (the output side).
 */
import * as z from 'zod';
import type { RouteTable } from './router.ts';
import { errorEnvelopeSchema } from './schemas.ts';

/** A body that is not JSON (the binary produce and fetch forms); `format` says what the bytes are. */
export interface BinaryBody {
  binary: string;
}

export type BodyDoc = z.ZodType | BinaryBody;

export interface ResponseDoc {
  description: string;
  /** Media type → body; absent for a response without a body (204). */
  content?: Readonly<Record<string, BodyDoc>>;
  /** Response headers the route sets: name → description. */
  headers?: Readonly<Record<string, string>>;
}

export interface RouteDoc {
  /** Unique across the API; the operation's name in generated clients. */
  operationId: string;
  summary: string;
  description?: string;
  /** One property per query parameter; optional ones are optional. */
  query?: z.ZodObject;
  /** Request headers the route reads: name → schema (with a description). */
  headers?: Readonly<Record<string, z.ZodType>>;
  /** Media type → body the route accepts (JSON, or alternatives such as the binary produce form). */
  body?: Readonly<Record<string, BodyDoc>>;
  /** The success responses, by status. */
  responses: Readonly<Record<number, ResponseDoc>>;
  /**
   * Error statuses this route answers besides 401, 413 and 500 (and 400 with a path parameter), which
   * the builder adds: what it refuses (400, 415), finds missing (404), conflicts on (409), or its
   * store answers (429, 503).
   */
  errors: readonly number[];
}

/** The error shape of a route table's answers, when it is not the Streambed envelope. */
export interface ErrorBodyDoc {
  contentType: string;
  /** The name of the schema under `components.schemas`. */
  name: string;
  schema: z.ZodType;
}

/** Errors of the metadata or object store a route reads or writes: throttling, unavailability. */
export const STORE_ERRORS: readonly number[] = [429, 503];
/** A write also answers 409 CONFLICT (retriable) when concurrent updates outlast its retries. */
export const WRITE_ERRORS: readonly number[] = [409, ...STORE_ERRORS];

const STREAMBED_ERROR: ErrorBodyDoc = {
  contentType: 'application/json',
  name: 'Error',
  schema: errorEnvelopeSchema,
};

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'The request is invalid: the message names what was wrong (`INVALID_REQUEST`).',
  401: 'Missing or invalid credentials (`UNAUTHORIZED`).',
  404: 'The named resource does not exist.',
  409: 'A conflict: the resource exists already, a lease was lost, or concurrent updates (`CONFLICT`, retriable).',
  413: 'The request is too large: a record, or the whole request as a Lambda event (`RECORD_TOO_LARGE`).',
  415: 'The Content-Type is not one the route accepts (`INVALID_REQUEST`).',
  416: 'The offset is outside the partition’s range (`OFFSET_OUT_OF_RANGE`, with `logStartOffset` and `highWatermark`).',
  422: 'The schema, version or compatibility level is invalid (Confluent codes 422xx).',
  429: 'Throttled by the store; retry after `Retry-After` (`THROTTLED`, retriable).',
  500: 'An internal error; nothing internal is disclosed (`INTERNAL`).',
  503: 'The store is unavailable; retry after `Retry-After` (`UNAVAILABLE`, retriable).',
};

const ERROR_HEADERS: Readonly<Record<number, Readonly<Record<string, string>>>> = {
  401: { 'WWW-Authenticate': 'The scheme to authenticate with (`Bearer realm="streambed"`).' },
  429: { 'Retry-After': 'Seconds to wait before retrying.' },
  503: { 'Retry-After': 'Seconds to wait before retrying.' },
};

const int32 = z.int().max(2 ** 31 - 1);

/** Every path parameter of the API, described once. */
const PATH_PARAMETERS: Readonly<Record<string, z.ZodType>> = {
  topic: z.string().min(1).describe('Topic name.'),
  partition: int32.min(0).describe('Partition number.'),
  group: z.string().min(1).describe('Consumer group id.'),
  member: z.string().min(1).describe('Member id, as the join answered it.'),
  subscription: z.string().min(1).describe('Subscription name.'),
  subject: z.string().min(1).describe('Schema registry subject.'),
  version: z
    .union([int32.min(1), z.literal('latest'), z.literal(-1)])
    .describe('Version number, or `latest` (also `-1`).'),
  id: int32.min(1).describe('Global schema id.'),
};

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is JSON.
type Json = any;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  return rest;
}

function content(bodies: Readonly<Record<string, BodyDoc>>, io: 'input' | 'output'): Json {
  const out: Json = {};
  for (const [type, body] of Object.entries(bodies)) {
    out[type] =
      'binary' in body
        ? { schema: { type: 'string', contentMediaType: type, description: body.binary } }
        : { schema: jsonSchema(body as z.ZodType, io) };
  }
  return out;
}

function headerObjects(headers: Readonly<Record<string, string>>): Json {
  return Object.fromEntries(
    Object.entries(headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }]),
  );
}

/** A parameter object; the schema's description moves up to the parameter. */
function parameter(name: string, where: 'path' | 'query' | 'header', schema: Json, required: boolean): Json {
  const { description, ...rest } = schema;
  return { name, in: where, required, ...(description === undefined ? {} : { description }), schema: rest };
}

function parameters(path: string, doc: RouteDoc): Json[] {
  const out: Json[] = [];
  for (const [, name] of path.matchAll(/\{(\w+)\}/g)) {
    const schema = PATH_PARAMETERS[name as string];
    if (schema === undefined) throw new Error(`${path}: path parameter {${name}} is not in PATH_PARAMETERS`);
    out.push(parameter(name as string, 'path', jsonSchema(schema, 'input'), true));
  }
  if (doc.query !== undefined) {
    const query = jsonSchema(doc.query, 'input');
    const required: string[] = query.required ?? [];
    for (const [name, schema] of Object.entries(query.properties ?? {})) {
      out.push(parameter(name, 'query', schema, required.includes(name)));
    }
  }
  for (const [name, schema] of Object.entries(doc.headers ?? {})) {
    out.push(parameter(name, 'header', jsonSchema(schema, 'input'), !schema.safeParse(undefined).success));
  }
  return out;
}

function operation(
  method: string,
  path: string,
  isPublic: boolean,
  doc: RouteDoc,
  /** Names the shared response of an error status in the table's error shape. */
  errorResponse: (status: number) => string,
): Json {
  const responses: Json = {};
  for (const [status, response] of Object.entries(doc.responses)) {
    responses[status] = {
      description: response.description,
      ...(response.headers === undefined ? {} : { headers: headerObjects(response.headers) }),
      ...(response.content === undefined ? {} : { content: content(response.content, 'output') }),
    };
  }
  // A path parameter the router cannot decode (malformed percent-encoding) is its 400, on any route.
  const malformed = path.includes('{') ? [400] : [];
  const errors = new Set([...doc.errors, ...malformed, ...(isPublic ? [] : [401]), 413, 500]);
  for (const status of [...errors].sort((a, b) => a - b)) {
    if (ERROR_DESCRIPTIONS[status] === undefined) {
      throw new Error(`${method} ${path}: no description for status ${status}`);
    }
    responses[String(status)] = { $ref: `#/components/responses/${errorResponse(status)}` };
  }
  const params = parameters(path, doc);
  return {
    operationId: doc.operationId,
    summary: doc.summary,
    ...(doc.description === undefined ? {} : { description: doc.description }),
    tags: [tagOf(path)],
    ...(isPublic ? { security: [] } : {}),
    ...(params.length === 0 ? {} : { parameters: params }),
    ...(doc.body === undefined
      ? {}
      : { requestBody: { required: true, content: content(doc.body, 'input') } }),
    responses,
  };
}

/** The shared response of an error status in an error shape, for components.responses. */
function errorResponseObject(errorBody: ErrorBodyDoc, status: number): Json {
  const headers = ERROR_HEADERS[status];
  return {
    description: ERROR_DESCRIPTIONS[status],
    ...(headers === undefined ? {} : { headers: headerObjects(headers) }),
    content: { [errorBody.contentType]: { schema: { $ref: `#/components/schemas/${errorBody.name}` } } },
  };
}

const TAGS = [
  { name: 'service', description: 'Health and this document.' },
  { name: 'topics', description: 'Topics, produce and fetch (DESIGN §8).' },
  { name: 'groups', description: 'Consumer groups: membership, leases, committed offsets.' },
  { name: 'subscriptions', description: 'Push delivery of a topic’s records to functions and webhooks.' },
  { name: 'schema-registry', description: 'The Confluent Schema Registry compatible subset.' },
];

function tagOf(path: string): string {
  const [, first, second] = path.split('/');
  if (first === 'schema-registry') return 'schema-registry';
  return second === 'topics' || second === 'groups' || second === 'subscriptions' ? second : 'service';
}

const DESCRIPTION = [
  'The HTTP API of Streambed, a serverless Kafka-style log. JSON unless stated; every error of the `/v1`',
  'routes is `{"error":{"code","message","retriable",...}}`, and those under `/schema-registry` use',
  'Confluent’s `{"error_code","message"}`. Unknown and repeated query parameters are a 400 on `/v1`',
  'routes. An `X-Request-Id` of up to 128 visible ASCII characters is echoed on the response.',
].join(' ');

/** The document of the routes of `tables`, in their order. */
export function openApiDocument(tables: readonly RouteTable[]): Json {
  const paths: Json = {};
  const responses: Json = {};
  const errorSchemas: Json = {};
  const operationIds = new Set<string>();
  for (const table of tables) {
    for (const route of table.routes) {
      const method = route.method.toLowerCase();
      paths[route.path] ??= {};
      if (paths[route.path][method] !== undefined) throw new Error(`${route.method} ${route.path} twice`);
      if (operationIds.has(route.doc.operationId)) {
        throw new Error(`operationId ${route.doc.operationId} is used twice`);
      }
      operationIds.add(route.doc.operationId);
      const errorBody = table.errorBody ?? STREAMBED_ERROR;
      const errorResponse = (status: number): string => {
        const name = `${errorBody.name}${status}`;
        responses[name] ??= errorResponseObject(errorBody, status);
        errorSchemas[errorBody.name] ??= jsonSchema(errorBody.schema, 'output');
        return name;
      };
      paths[route.path][method] = operation(
        method,
        route.path,
        route.public === true,
        route.doc,
        errorResponse,
      );
    }
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Streambed HTTP API', version: 'v1', description: DESCRIPTION },
    servers: [
      { url: 'http://127.0.0.1:8080', description: 'The local server (`streambed start`).' },
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
        description: 'A deployed stack (HTTP API flavor); `npx cdk deploy` prints its URL.',
        variables: { apiId: { default: 'api-id' }, region: { default: 'us-east-1' } },
      },
    ],
    tags: TAGS,
    security: [{ bearer: [] }, { sigv4: [] }],
    paths,
    components: {
      schemas: errorSchemas,
      responses,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'The local server’s token (`--token` or `STREAMBED_TOKEN`). A server on loopback started without a token takes requests without credentials.',
        },
        sigv4: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            'The deployed API: AWS Signature Version 4 (service `execute-api`) with credentials whose IAM policy allows `execute-api:Invoke` on the route. API Gateway checks it before the function runs.',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
    },
  };
}
