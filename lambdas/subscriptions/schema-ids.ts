/**
 * Which Confluent schema ids the registry issued, for the deliverer's `knownSchemaIds`: a value framed
 * with an issued id carries `valueSchemaMetadata` in the event. Schemas are immutable and never
 * removed (core/schemas.ts), so an id found once is remembered for the life of the process; an id not
 * found is asked again next time (it may be registered since).
 */
import { RegistryErrorCode, registryErrorCode, type SchemaRegistryService } from '../core/schemas.ts';

export function createSchemaIdCheck(
  schemas: Pick<SchemaRegistryService, 'getSchema'>,
): (ids: readonly number[]) => Promise<ReadonlySet<number>> {
  const issued = new Set<number>();
  return async (ids) => {
    const known = new Set<number>();
    for (const id of ids) {
      if (!issued.has(id)) {
        try {
          await schemas.getSchema(id);
          issued.add(id);
        } catch (error) {
          if (registryErrorCode(error) !== RegistryErrorCode.SCHEMA_NOT_FOUND) throw error;
          continue;
        }
      }
      known.add(id);
    }
    return known;
  };
}
