/**
 * The schema registry as the console reads it: Streambed's Confluent-compatible routes under
 * `/schema-registry` (docs/api.md, "Schema Registry"), through the same call as every other page
 * (token, 401 prompt). Its errors carry Confluent's numeric `error_code`; they reach the page named
 * (`SUBJECT_NOT_FOUND`, …) so that what it shows reads as words, with the number kept beside it.
 */
import type * as z from 'zod';
import type { RegistryErrorCode } from '../../lambdas/core/schemas.ts';
import type { registryResponses, subjectVersionResponseSchema } from '../../lambdas/http/schemas.ts';
import { ApiError, call } from './api.ts';
import { type AvroType, parseAvroSchema } from './avro.ts';

export type SubjectVersion = z.infer<typeof subjectVersionResponseSchema>;
export type CompatibilityLevel = z.infer<typeof registryResponses.level>['compatibilityLevel'];
export type CompatibilityResult = z.infer<typeof registryResponses.compatibility>;

const PREFIX = '/schema-registry';
const segment = encodeURIComponent;

/** The name of each of Confluent's codes the registry sends (checked against the server's own table). */
const CODE_NAMES = {
  40401: 'SUBJECT_NOT_FOUND',
  40402: 'VERSION_NOT_FOUND',
  40403: 'SCHEMA_NOT_FOUND',
  40404: 'SUBJECT_SOFT_DELETED',
  40405: 'SUBJECT_NOT_SOFT_DELETED',
  40406: 'VERSION_SOFT_DELETED',
  40407: 'VERSION_NOT_SOFT_DELETED',
  40408: 'SUBJECT_COMPATIBILITY_NOT_CONFIGURED',
  409: 'INCOMPATIBLE_SCHEMA',
  42201: 'INVALID_SCHEMA',
  42202: 'INVALID_VERSION',
  42203: 'INVALID_COMPATIBILITY_LEVEL',
  42208: 'INVALID_SUBJECT',
  42209: 'SCHEMA_TOO_LARGE',
} satisfies { [K in keyof typeof RegistryErrorCode as (typeof RegistryErrorCode)[K]]: K };

/** A registry call whose error, if any, is named: `SUBJECT_NOT_FOUND (40401)`. */
async function registryCall<T>(method: string, path: string, body?: unknown): Promise<T> {
  try {
    return await call<T>(method, `${PREFIX}${path}`, body);
  } catch (error) {
    const name =
      error instanceof ApiError ? CODE_NAMES[Number(error.code) as keyof typeof CODE_NAMES] : undefined;
    if (error instanceof ApiError && name !== undefined) {
      throw new ApiError(error.status, `${name} (${error.code})`, error.message, error.body);
    }
    throw error;
  }
}

/** True when a failure is the registry's `code` (by name). */
export function isRegistryError(error: unknown, code: keyof typeof RegistryErrorCode): boolean {
  return error instanceof ApiError && error.code.startsWith(`${code} (`);
}

export const registry = {
  subjects: () => registryCall<string[]>('GET', '/subjects'),
  versions: (subject: string) => registryCall<number[]>('GET', `/subjects/${segment(subject)}/versions`),
  version: (subject: string, version: number | 'latest') =>
    registryCall<SubjectVersion>('GET', `/subjects/${segment(subject)}/versions/${version}`),
  globalLevel: async () =>
    (await registryCall<{ compatibilityLevel: CompatibilityLevel }>('GET', '/config')).compatibilityLevel,
  /** The subject's own level, or undefined when it follows the global one. */
  subjectLevel: async (subject: string): Promise<CompatibilityLevel | undefined> => {
    try {
      const answer = await registryCall<{ compatibilityLevel: CompatibilityLevel }>(
        'GET',
        `/config/${segment(subject)}`,
      );
      return answer.compatibilityLevel;
    } catch (error) {
      if (isRegistryError(error, 'SUBJECT_COMPATIBILITY_NOT_CONFIGURED')) return undefined;
      throw error;
    }
  },
  setSubjectLevel: (subject: string, compatibility: CompatibilityLevel) =>
    registryCall<unknown>('PUT', `/config/${segment(subject)}`, { compatibility }),
  clearSubjectLevel: (subject: string) => registryCall<unknown>('DELETE', `/config/${segment(subject)}`),
  setGlobalLevel: (compatibility: CompatibilityLevel) =>
    registryCall<unknown>('PUT', '/config', { compatibility }),
  /** Whether `schema` may be registered under `subject`: checked against what its level checks. */
  check: (subject: string, schema: string) =>
    registryCall<CompatibilityResult>(
      'POST',
      `/compatibility/subjects/${segment(subject)}/versions?verbose=true`,
      {
        schema,
      },
    ),
  register: (subject: string, schema: string) =>
    registryCall<{ id: number }>('POST', `/subjects/${segment(subject)}/versions`, { schema }),
  /** The version of `subject` that holds `schema`. */
  lookup: (subject: string, schema: string) =>
    registryCall<SubjectVersion>('POST', `/subjects/${segment(subject)}`, { schema }),
  schema: (id: number) => registryCall<{ schema: string }>('GET', `/schemas/ids/${id}`),
  versionsOfSchema: (id: number) =>
    registryCall<{ subject: string; version: number }[]>('GET', `/schemas/ids/${id}/versions`),
};

/** A writer schema by id, read and parsed once per page load, and the subjects it is registered under. */
export interface WriterSchema {
  id: number;
  type: AvroType;
  subjects: string[];
}

const writerSchemas = new Map<number, Promise<WriterSchema>>();

export function writerSchema(id: number): Promise<WriterSchema> {
  let found = writerSchemas.get(id);
  if (found === undefined) {
    found = (async () => {
      const [{ schema }, versions] = await Promise.all([
        registry.schema(id),
        // Only to name the subject beside the value: without it the value still decodes.
        registry.versionsOfSchema(id).catch(() => []),
      ]);
      return {
        id,
        type: parseAvroSchema(JSON.parse(schema)),
        subjects: [...new Set(versions.map((v) => v.subject))],
      };
    })();
    // A failure (unknown id, server down) is not kept: the next record asks again.
    found.catch(() => writerSchemas.delete(id));
    writerSchemas.set(id, found);
  }
  return found;
}

/** A schema as the page shows it: its JSON pretty-printed (as it was registered, if it is not JSON). */
export function prettySchema(schema: string): string {
  try {
    return JSON.stringify(JSON.parse(schema), null, 2);
  } catch {
    return schema;
  }
}
