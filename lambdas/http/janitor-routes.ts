/**
 * `GET /v1/janitor`: how the janitor's last completed pass went (DESIGN §7), read-only. The janitor
 * records it at the end of every pass (`janitor / last-run`); before the first pass it is `null`.
 */
import * as z from 'zod';
import type { Janitor } from '../core/janitor.ts';
import { JSON_CONTENT_TYPE, jsonResponse } from './errors.ts';
import { STORE_ERRORS } from './openapi.ts';
import { type RouteTable, readQuery } from './router.ts';

export const JANITOR_PATH = '/v1/janitor';

const count = (description: string) => z.int().min(0).describe(description);
const epochMs = (description: string) => z.int().min(0).describe(description);

export const janitorResponseSchema = z.strictObject({
  lastRun: z
    .strictObject({
      startedAt: epochMs('When the pass started, epoch ms.'),
      finishedAt: epochMs('When the pass finished, epoch ms.'),
      partitions: count('Partitions worked.'),
      skipped: count('Partitions skipped because another janitor was working on them.'),
      retainedBatches: count('Batches deleted by retention.'),
      compactedBatches: count('Batches compacted into larger objects.'),
      deletedObjects: count('Objects deleted (garbage collection and deleted topics).'),
      deletedTopics: count('Deleted topics whose data was cleaned up.'),
      failures: count('Partitions or steps that failed; each was skipped and is retried by the next pass.'),
      incomplete: z
        .boolean()
        .describe('The deadline or a failure stopped the pass early; the next pass carries on.'),
    })
    .nullable()
    .describe('The last completed pass, or null when no janitor has completed one on this store.'),
});

export function janitorRoutes(janitor: Pick<Janitor, 'lastRun'>): RouteTable {
  return {
    prefix: JANITOR_PATH,
    routes: [
      {
        method: 'GET',
        path: JANITOR_PATH,
        doc: {
          operationId: 'describeJanitor',
          summary: 'How the janitor’s last completed pass went (retention, compaction, garbage collection)',
          responses: {
            200: {
              description: 'The last pass, or null before the first.',
              content: { [JSON_CONTENT_TYPE]: janitorResponseSchema },
            },
          },
          errors: [400, ...STORE_ERRORS],
        },
        handle: async ({ request }) => {
          readQuery(request, []);
          return jsonResponse(200, { lastRun: (await janitor.lastRun()) ?? null });
        },
      },
    ],
  };
}
