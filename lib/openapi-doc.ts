/**
 * Writes docs/openapi.json, the API document the servers answer `GET /v1/openapi.json` with
 * (`npm run docs:openapi`, which then formats it as Biome does). It is built from the route tables
 * (lambdas/http/api-routes.ts); test/http/openapi.test.ts fails when the committed file is not what
 * they build.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openApiDocumentText } from '../lambdas/http/api-routes.ts';

export const OPENAPI_DOC = join(fileURLToPath(new URL('../', import.meta.url)), 'docs', 'openapi.json');

const entry = process.argv[1];
if (entry !== undefined && resolve(entry) === fileURLToPath(import.meta.url)) {
  writeFileSync(OPENAPI_DOC, `${JSON.stringify(JSON.parse(openApiDocumentText()), null, 2)}\n`);
  process.stdout.write(`wrote ${OPENAPI_DOC}\n`);
}
