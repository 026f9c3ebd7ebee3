/**
 * The Confluent Schema Registry REST subset under `/schema-registry` (DESIGN §8), a route table for the
 * shared router. A Confluent client's base URL is `<api>/schema-registry`.
 *
 * Dialect (Confluent's, not Streambed's — these routes exist for its clients):
 * - Requests: `application/vnd.schemaregistry.v1+json`, `application/vnd.schemaregistry+json`,
 *   `application/json` (and `application/octet-stream`, Confluent's "generic request"). Responses are
 *   always `application/vnd.schemaregistry.v1+json`.
 * - Errors: `{"error_code", "message"}`; the HTTP status is the error code's first three digits
 *   (40401 → 404). Retriable store failures are 503 with error_code 50001, so clients retry them.
 * - Unknown query parameters are ignored, not refused: Confluent clients send optional ones
 *   (`normalize`, `fetchMaxId`, `subject`, `format`, …) that this subset has no use for. Booleans are
 *   true only when spelled `true`, as in Confluent.
 * - Unknown body fields (`metadata`, `ruleSet`, …) are ignored; `schemaType` other than AVRO and
 *   non-empty `references` are refused with 42201.
 */
import * as z from 'zod';
import { StreamError } from '../core/errors.ts';
import {
  parseCompatibilityLevel,
  parseVersion,
  RegistryErrorCode,
  registryError,
  registryErrorCode,
  registryErrorStatus,
  type SchemaInput,
  type SchemaRegistryService,
  type SubjectVersion,
} from '../core/schemas.ts';
import { describeError, invalidRequest } from './errors.ts';
import { type RouteDoc, STORE_ERRORS } from './openapi.ts';
import { type RouteContext, type RouteTable, requireContentType } from './router.ts';
import {
  registryCompatibilityBodySchema,
  registryErrorSchema,
  registryResponses,
  registrySchemaBodySchema,
  subjectVersionResponseSchema,
} from './schemas.ts';
import type { HttpRequest, HttpResponse } from './types.ts';

export const SCHEMA_REGISTRY_PREFIX = '/schema-registry';
export const SCHEMA_REGISTRY_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const ACCEPTED_CONTENT_TYPES = [
  SCHEMA_REGISTRY_CONTENT_TYPE,
  'application/vnd.schemaregistry+json',
  'application/json',
  'application/octet-stream',
];
/** Confluent's "Error in the backend data store": a retriable failure of the metadata store. */
const STORE_ERROR_CODE = 50001;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function response(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return {
    status,
    headers: { ...headers, 'content-type': SCHEMA_REGISTRY_CONTENT_TYPE },
    body: JSON.stringify(body),
  };
}

/** A schema's own text as the body (the `/schema` routes), not wrapped in an object. */
function rawSchema(schema: string): HttpResponse {
  return { status: 200, headers: { 'content-type': SCHEMA_REGISTRY_CONTENT_TYPE }, body: schema };
}

/** Renders every error of a request under /schema-registry in Confluent's shape. */
export function renderRegistryError(error: unknown): HttpResponse {
  const errorCode = registryErrorCode(error);
  if (errorCode !== undefined && error instanceof StreamError) {
    return response(registryErrorStatus(errorCode), { error_code: errorCode, message: error.message });
  }
  const described = describeError(error);
  if (described.retriable && (described.code === 'CONFLICT' || described.code === 'UNAVAILABLE')) {
    return response(
      503,
      { error_code: STORE_ERROR_CODE, message: `${described.message} (the metadata store is busy; retry)` },
      { ...described.headers, 'retry-after': described.headers['retry-after'] ?? '1' },
    );
  }
  // Confluent's own wording for an unknown route: its clients probe optional routes and read 404s.
  const message = described.status === 404 ? 'HTTP 404 Not Found' : described.message;
  return response(described.status, { error_code: described.status, message }, described.headers);
}

/** A JSON object body in one of the registry's content types; malformed bodies are a 400. */
function readBody(request: HttpRequest): Record<string, unknown> {
  requireContentType(request, ACCEPTED_CONTENT_TYPES);
  if (request.body.byteLength === 0) throw invalidRequest('request body is empty; send a JSON object');
  let parsed: unknown;
  try {
    parsed = JSON.parse(strictUtf8.decode(request.body));
  } catch (error) {
    const detail = error instanceof SyntaxError ? `: ${error.message.slice(0, 200)}` : ' (not UTF-8)';
    throw invalidRequest(`malformed JSON body${detail}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw invalidRequest('request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function schemaInput(body: Record<string, unknown>): SchemaInput {
  return { schema: body.schema, schemaType: body.schemaType, references: body.references };
}

const flag = (request: HttpRequest, name: string): boolean =>
  request.query.get(name)?.toLowerCase() === 'true';

const param = (params: RouteContext['params'], name: string): string => params[name] ?? '';

function schemaId(raw: string): number {
  const id = /^\d{1,10}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(id >= 1 && id <= 2 ** 31 - 1)) {
    throw registryError(RegistryErrorCode.SCHEMA_NOT_FOUND, `Schema ${raw.slice(0, 40)} not found`);
  }
  return id;
}

const subjectVersionBody = (found: SubjectVersion) => ({
  subject: found.subject,
  version: found.version,
  id: found.id,
  schema: found.schema,
});

/** Confluent's flags are query parameters that are true only when spelled `true`. */
function flags(descriptions: Record<string, string>): z.ZodObject {
  return z.object(
    Object.fromEntries(
      Object.entries(descriptions).map(([name, text]) => [name, z.boolean().optional().describe(text)]),
    ),
  );
}

const DELETED = { deleted: 'Include soft-deleted subjects or versions.' };
const VERBOSE = { verbose: 'Say why a schema is not compatible.' };
const PERMANENT = { permanent: 'Remove what was soft-deleted before, for good.' };

/**
 * A registry route's document entry. Every route may answer 429/503 (the store; Confluent's 50001 is
 * a 503) and 422 for an invalid subject; a route with a body also 400 and 415.
 */
function doc(
  operationId: string,
  summary: string,
  response: z.ZodType,
  options: { body?: z.ZodType; query?: z.ZodObject; errors?: readonly number[] } = {},
): RouteDoc {
  const { body } = options;
  return {
    operationId,
    summary,
    ...(options.query === undefined ? {} : { query: options.query }),
    // Confluent's clients send any of the registry's request types.
    ...(body === undefined
      ? {}
      : { body: Object.fromEntries(ACCEPTED_CONTENT_TYPES.map((type) => [type, body])) }),
    responses: { 200: { description: summary, content: { [SCHEMA_REGISTRY_CONTENT_TYPE]: response } } },
    errors: [...(body === undefined ? [] : [400, 415]), ...(options.errors ?? []), 422, ...STORE_ERRORS],
  };
}

const R = registryResponses;

export function schemaRegistryRoutes(registry: SchemaRegistryService): RouteTable {
  const p = SCHEMA_REGISTRY_PREFIX;
  return {
    prefix: p,
    renderError: renderRegistryError,
    errorBody: {
      contentType: SCHEMA_REGISTRY_CONTENT_TYPE,
      name: 'RegistryError',
      schema: registryErrorSchema,
    },
    routes: [
      // Confluent answers its root with an empty object; tools use it as a health probe.
      {
        method: 'GET',
        path: p,
        doc: doc('registryRoot', 'An empty object: the registry answers', R.root),
        handle: async () => response(200, {}),
      },
      {
        method: 'GET',
        path: `${p}/schemas/types`,
        doc: doc('schemaTypes', 'The schema types this registry takes', R.types),
        handle: async () => response(200, ['AVRO']),
      },
      {
        method: 'GET',
        path: `${p}/subjects`,
        doc: doc('listSubjects', 'Every subject', R.names, { query: flags(DELETED) }),
        handle: async ({ request }) =>
          response(200, await registry.listSubjects({ deleted: flag(request, 'deleted') })),
      },
      {
        method: 'POST',
        path: `${p}/subjects/{subject}`,
        doc: doc(
          'lookupSchema',
          'The version of a subject that holds a schema',
          subjectVersionResponseSchema,
          { body: registrySchemaBodySchema, query: flags(DELETED), errors: [404] },
        ),
        handle: async ({ request, params }) => {
          const found = await registry.lookup(param(params, 'subject'), schemaInput(readBody(request)), {
            deleted: flag(request, 'deleted'),
          });
          return response(200, subjectVersionBody(found));
        },
      },
      {
        method: 'DELETE',
        path: `${p}/subjects/{subject}`,
        doc: doc(
          'deleteSubject',
          'Soft-delete (or with permanent=true remove) a subject: its versions',
          R.versions,
          { query: flags(PERMANENT), errors: [404] },
        ),
        handle: async ({ request, params }) =>
          response(
            200,
            await registry.deleteSubject(param(params, 'subject'), { permanent: flag(request, 'permanent') }),
          ),
      },
      {
        method: 'GET',
        path: `${p}/subjects/{subject}/versions`,
        doc: doc('listVersions', 'The version numbers of a subject', R.versions, {
          query: flags(DELETED),
          errors: [404],
        }),
        handle: async ({ request, params }) =>
          response(
            200,
            await registry.listVersions(param(params, 'subject'), { deleted: flag(request, 'deleted') }),
          ),
      },
      {
        method: 'POST',
        path: `${p}/subjects/{subject}/versions`,
        doc: doc(
          'registerSchema',
          'Register a schema under a subject (or find it registered): its global id',
          R.registered,
          { body: registrySchemaBodySchema, errors: [409] },
        ),
        handle: async ({ request, params }) => {
          const { id } = await registry.register(param(params, 'subject'), schemaInput(readBody(request)));
          return response(200, { id });
        },
      },
      {
        method: 'GET',
        path: `${p}/subjects/{subject}/versions/{version}`,
        doc: doc('getVersion', 'One version of a subject', subjectVersionResponseSchema, {
          query: flags(DELETED),
          errors: [404],
        }),
        handle: async ({ request, params }) => {
          const found = await registry.getVersion(
            param(params, 'subject'),
            parseVersion(param(params, 'version')),
            { deleted: flag(request, 'deleted') },
          );
          return response(200, subjectVersionBody(found));
        },
      },
      {
        method: 'GET',
        path: `${p}/subjects/{subject}/versions/{version}/schema`,
        doc: doc('getVersionSchema', 'The schema of one version, unwrapped', R.rawSchema, {
          query: flags(DELETED),
          errors: [404],
        }),
        handle: async ({ request, params }) => {
          const found = await registry.getVersion(
            param(params, 'subject'),
            parseVersion(param(params, 'version')),
            { deleted: flag(request, 'deleted') },
          );
          return rawSchema(found.schema);
        },
      },
      {
        method: 'DELETE',
        path: `${p}/subjects/{subject}/versions/{version}`,
        doc: doc(
          'deleteVersion',
          'Soft-delete (or with permanent=true remove) a version: its number',
          R.version,
          { query: flags(PERMANENT), errors: [404] },
        ),
        handle: async ({ request, params }) =>
          response(
            200,
            await registry.deleteVersion(param(params, 'subject'), parseVersion(param(params, 'version')), {
              permanent: flag(request, 'permanent'),
            }),
          ),
      },
      {
        method: 'GET',
        path: `${p}/schemas/ids/{id}`,
        doc: doc('getSchema', 'A schema by global id', R.schema, { errors: [404] }),
        handle: async ({ params }) => {
          const found = await registry.getSchema(schemaId(param(params, 'id')));
          return response(200, { schema: found.schema });
        },
      },
      {
        method: 'GET',
        path: `${p}/schemas/ids/{id}/schema`,
        doc: doc('getSchemaText', 'A schema by global id, unwrapped', R.rawSchema, { errors: [404] }),
        handle: async ({ params }) =>
          rawSchema((await registry.getSchema(schemaId(param(params, 'id')))).schema),
      },
      {
        method: 'GET',
        path: `${p}/schemas/ids/{id}/subjects`,
        doc: doc('subjectsOfSchema', 'The subjects a schema is registered under', R.names, {
          query: flags(DELETED),
          errors: [404],
        }),
        handle: async ({ request, params }) =>
          response(
            200,
            await registry.subjectsOfSchema(schemaId(param(params, 'id')), {
              deleted: flag(request, 'deleted'),
            }),
          ),
      },
      {
        method: 'GET',
        path: `${p}/schemas/ids/{id}/versions`,
        doc: doc('versionsOfSchema', 'The subject versions a schema is registered as', R.subjectVersions, {
          query: flags(DELETED),
          errors: [404],
        }),
        handle: async ({ request, params }) =>
          response(
            200,
            await registry.versionsOfSchema(schemaId(param(params, 'id')), {
              deleted: flag(request, 'deleted'),
            }),
          ),
      },
      {
        method: 'GET',
        path: `${p}/config`,
        doc: doc('getGlobalCompatibility', 'The global compatibility level', R.level),
        handle: async () => response(200, { compatibilityLevel: await registry.getGlobalCompatibility() }),
      },
      {
        method: 'PUT',
        path: `${p}/config`,
        doc: doc('setGlobalCompatibility', 'Set the global compatibility level', R.levelSet, {
          body: registryCompatibilityBodySchema,
        }),
        handle: async ({ request }) => {
          const level = parseCompatibilityLevel(readBody(request).compatibility);
          return response(200, { compatibility: await registry.setGlobalCompatibility(level) });
        },
      },
      {
        method: 'GET',
        path: `${p}/config/{subject}`,
        doc: doc(
          'getSubjectCompatibility',
          'A subject’s own compatibility level (or the global one with defaultToGlobal=true)',
          R.level,
          {
            query: flags({ defaultToGlobal: 'Answer the global level when the subject has none.' }),
            errors: [404],
          },
        ),
        handle: async ({ request, params }) => {
          const level = await registry.getSubjectCompatibility(param(params, 'subject'), {
            defaultToGlobal: flag(request, 'defaultToGlobal'),
          });
          return response(200, { compatibilityLevel: level });
        },
      },
      {
        method: 'PUT',
        path: `${p}/config/{subject}`,
        doc: doc('setSubjectCompatibility', 'Set a subject’s compatibility level', R.levelSet, {
          body: registryCompatibilityBodySchema,
        }),
        handle: async ({ request, params }) => {
          const level = parseCompatibilityLevel(readBody(request).compatibility);
          return response(200, {
            compatibility: await registry.setSubjectCompatibility(param(params, 'subject'), level),
          });
        },
      },
      {
        method: 'DELETE',
        path: `${p}/config/{subject}`,
        doc: doc('deleteSubjectCompatibility', 'Remove a subject’s own level: the level it had', R.level, {
          errors: [404],
        }),
        handle: async ({ params }) =>
          response(200, {
            compatibilityLevel: await registry.deleteSubjectCompatibility(param(params, 'subject')),
          }),
      },
      {
        method: 'POST',
        path: `${p}/compatibility/subjects/{subject}/versions/{version}`,
        doc: doc(
          'testCompatibilityWithVersion',
          'Whether a schema is compatible with one version',
          R.compatibility,
          { body: registrySchemaBodySchema, query: flags(VERBOSE), errors: [404] },
        ),
        handle: async ({ request, params }) => {
          const version = parseVersion(param(params, 'version'));
          const body = schemaInput(readBody(request));
          const result = await registry.testCompatibility(param(params, 'subject'), body, version);
          return compatibilityResponse(result, flag(request, 'verbose'));
        },
      },
      {
        method: 'POST',
        path: `${p}/compatibility/subjects/{subject}/versions`,
        doc: doc(
          'testCompatibility',
          'Whether a schema is compatible with the versions its level checks',
          R.compatibility,
          { body: registrySchemaBodySchema, query: flags(VERBOSE), errors: [404] },
        ),
        handle: async ({ request, params }) => {
          const body = schemaInput(readBody(request));
          const result = await registry.testCompatibility(param(params, 'subject'), body, undefined);
          return compatibilityResponse(result, flag(request, 'verbose'));
        },
      },
    ],
  };
}

function compatibilityResponse(
  result: { compatible: boolean; messages: string[] },
  verbose: boolean,
): HttpResponse {
  return response(200, {
    is_compatible: result.compatible,
    ...(verbose ? { messages: result.messages } : {}),
  });
}
