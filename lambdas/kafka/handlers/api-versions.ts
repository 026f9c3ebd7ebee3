/** ApiVersions: the APIs this listener serves and the versions of each it speaks. */
import { KafkaError } from '../errors.ts';
import { handler } from '../handler.ts';
import { ApiVersions } from '../protocol/messages.ts';

export const apiVersions = handler(ApiVersions, async (_request, context) => ({
  errorCode: KafkaError.NONE,
  apiKeys: context.served
    .map((api) => ({ apiKey: api.key, minVersion: api.versions.min, maxVersion: api.versions.max }))
    .sort((a, b) => a.apiKey - b.apiKey),
  throttleTimeMs: 0,
}));
