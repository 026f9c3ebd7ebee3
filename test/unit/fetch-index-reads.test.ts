/**
 * How a fetch reads the batch index: what it serves against an oracle built from the whole log, and how
 * many index queries and entries that takes (on DynamoDB each query is a round trip and each entry read
 * is paid for).
 */

import { describe, expect, it } from 'vitest';
import { readBatchHeader, splitBatches } from '../../client/wire/record-batch.ts';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import type { QueryOptions, QueryResult } from '../../lambdas/ports/meta-store.ts';
import { expectedPage, storedBatches } from '../support/fetch-oracle.ts';
import { logFixture, record } from '../support/log-fixture.ts';

/** A memory store that keeps every query's options and how many items it returned. */
class QueryLog extends MemoryMetaStore {
  readonly queries: { options: QueryOptions; items: number }[] = [];
  override async query(pk: string, options: QueryOptions = {}): Promise<QueryResult> {
    const result = await super.query(pk, options);
    this.queries.push({ options, items: result.items.length });
    return result;
  }
}

/** A one-partition topic of batches with these record counts and value sizes, one produce each. */
async function logOf(batches: readonly { records: number; valueBytes: number }[]) {
  const meta = new QueryLog();
  const fixture = logFixture({ meta });
  await fixture.topics.createTopic('t', 1);
  for (const { records, valueBytes } of batches) {
    const value = 'v'.repeat(valueBytes);
    await fixture.log.produce({
      topic: 't',
      records: Array.from({ length: records }, () => record(value, { partition: 0 })),
    });
  }
  // The whole log in one page, split into its batches: what the oracle serves from.
  const whole = await fixture.log.fetchBatches({ topic: 't', partition: 0, offset: 0, maxBytes: 64 << 20 });
  const stored = storedBatches(whole.batches);
  meta.queries.length = 0;
  return { ...fixture, queries: meta.queries, stored };
}

describe('fetch reads of the batch index', () => {
  it('serves exactly the oracle page from every offset, at budgets of one batch to many pages of entries', async () => {
    // Prepare: 150 batches of uneven sizes, more than two pages of index entries in one fetch
    const sizes = Array.from({ length: 150 }, (_, i) => ({
      records: 1 + (i % 4),
      valueBytes: [10, 300, 40, 2000][i % 4] ?? 1,
    }));
    const { log, stored } = await logOf(sizes);
    const total = stored.reduce((sum, b) => sum + b.byteLength, 0);
    expect(stored.length).toBe(150);
    expect(stored.at(-1)?.nextOffset).toBe(sizes.reduce((sum, s) => sum + s.records, 0));
    // Act / Assess
    for (const maxBytes of [1, 100, 2500, 9000, 50_000, total]) {
      for (let offset = 0; offset < (stored.at(-1)?.nextOffset ?? 0); offset += 7) {
        const page = await log.fetchBatches({ topic: 't', partition: 0, offset, maxBytes });
        const want = expectedPage(stored, offset, maxBytes);
        const got = [...splitBatches(page.batches)].map((b) => readBatchHeader(b).baseOffset);
        expect({ offset, maxBytes, got, next: page.nextOffset }).toEqual({
          offset,
          maxBytes,
          got: want.map((b) => b.baseOffset),
          next: want.at(-1)?.nextOffset,
        });
      }
    }
  });

  it("reads on from a page's end with one query of two entries when the next entry does not fit", async () => {
    // Prepare: batches of about 100 KB, fetched 150 KB at a time (one batch per page)
    const { log, queries, stored } = await logOf(
      Array.from({ length: 6 }, () => ({ records: 10, valueBytes: 10_000 })),
    );
    // Act
    let offset = 0;
    const pages: number[] = [];
    while (offset < (stored.at(-1)?.nextOffset ?? 0)) {
      queries.length = 0;
      const page = await log.fetchBatches({ topic: 't', partition: 0, offset, maxBytes: 150_000 });
      pages.push(queries.length);
      expect(queries.every((q) => (q.options.limit ?? Infinity) <= 2)).toBe(true);
      offset = page.nextOffset;
    }
    // Assess
    expect(pages).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('finds an offset inside an entry with a second query, back to the entry below it', async () => {
    // Prepare
    const { log, queries } = await logOf(Array.from({ length: 4 }, () => ({ records: 10, valueBytes: 100 })));
    // Act
    const page = await log.fetchBatches({ topic: 't', partition: 0, offset: 15, maxBytes: 1 });
    // Assess
    expect(readBatchHeader(page.batches).baseOffset).toBe(10);
    expect(queries.map((q) => [q.options.reverse ?? false, q.options.limit])).toEqual([
      [false, 2],
      [true, 1],
    ]);
  });

  it('reads about as many entries as a page serves, however small they are', async () => {
    // Prepare: 300 one-record batches of about 110 bytes, fetched 8 KB at a time
    const { log, queries, stored } = await logOf(
      Array.from({ length: 300 }, () => ({ records: 1, valueBytes: 40 })),
    );
    // Act
    const page = await log.fetchBatches({ topic: 't', partition: 0, offset: 0, maxBytes: 8000 });
    // Assess: every entry read was served, or was the one that showed where the page ends
    const served = [...splitBatches(page.batches)].length;
    expect(served).toBe(expectedPage(stored, 0, 8000).length);
    const read = queries.reduce((sum, q) => sum + q.items, 0);
    expect(read).toBeGreaterThan(served);
    expect(read).toBeLessThanOrEqual(served + 1);
    expect(queries.length).toBeLessThanOrEqual(1 + Math.ceil(served / 64) + 1);
  });

  it('stops at the high watermark without reading past it', async () => {
    // Prepare
    const { log, queries } = await logOf(Array.from({ length: 3 }, () => ({ records: 2, valueBytes: 10 })));
    // Act
    const page = await log.fetchBatches({ topic: 't', partition: 0, offset: 4, maxBytes: 1 << 20 });
    // Assess: the last entry, found and served by the first query, which found nothing after it
    expect(page).toMatchObject({ nextOffset: 6, highWatermark: 6 });
    expect(queries.map((q) => q.items)).toEqual([1]);
  });
});
