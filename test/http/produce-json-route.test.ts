/**
 * The produce route end to end: a body and the same body with a trailing newline (which the byte
 * reader never reads, so it goes the general way) must get the same answer and store the same bytes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readPlainProduceBody } from '../../lambdas/http/produce-json.ts';
import type { Router } from '../../lambdas/http/router.ts';
import { realRouter } from '../limits/support.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

async function produce(router: Router, topic: string, body: Uint8Array) {
  const response = await router({
    method: 'POST',
    path: `/v1/topics/${topic}/records`,
    query: new URLSearchParams(),
    headers: { 'content-type': 'application/json' },
    body,
  });
  // JSON.parse's positions differ by the newline at the end of the general way's body.
  const text = String(response.body).replace(/at position \d+( \(line \d+ column \d+\))?/, 'at position N');
  return { status: response.status, body: text };
}

async function stored(router: Router, topic: string, partitions: number) {
  const out: unknown[] = [];
  for (let partition = 0; partition < partitions; partition++) {
    const response = await router({
      method: 'GET',
      path: `/v1/topics/${topic}/partitions/${partition}/records`,
      query: new URLSearchParams('offset=0&encoding=base64'),
      headers: {},
      body: new Uint8Array(0),
    });
    const page = JSON.parse(Buffer.from(response.body as Uint8Array).toString('utf8'));
    // Timestamps differ (the server's clock) unless given.
    out.push(
      page.records.map((r: { timestamp: number }) => ({
        ...r,
        timestamp: r.timestamp > 1e12 ? 0 : r.timestamp,
      })),
    );
  }
  return out;
}

const text = fc.string({
  unit: fc.constantFrom('a', ' ', 'é', '😀', '{', '}', ':', ',', '[', 'n', 'u', '\ufeff'),
});
const record = fc.record(
  {
    key: fc.option(text, { freq: 8 }),
    value: fc.oneof(
      { arbitrary: text, weight: 12 },
      { arbitrary: fc.constant(null), weight: 3 },
      fc.integer(),
      fc.constant({ a: 1 }),
    ),
    partition: fc.nat({ max: 1 }),
    timestamp: fc.nat({ max: 1000 }),
  },
  { requiredKeys: [] },
);
const edit = fc.constantFrom(
  '',
  ' ',
  '"',
  '\\',
  ',',
  '}',
  '{',
  '0',
  '-',
  'null',
  '"key":"x"',
  '"value":"y"',
  'é',
);

describe('JSON produce, byte reader against the general way, through the route', () => {
  it('answers alike and stores the same bytes', async () => {
    let read = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 2 }), edit), { maxLength: 2 }),
        async (records, edits) => {
          let body = JSON.stringify({ records });
          for (const [at, remove, insert] of edits) {
            const where = at % (body.length + 1);
            body = body.slice(0, where) + insert + body.slice(where + remove);
          }
          // Only a body the byte reader reads can differ: any other goes the general way both times.
          if (readPlainProduceBody(utf8(body)) === undefined) return;
          read++;
          const { router, services } = await realRouter();
          await services.topics.createTopic('fast', 1);
          await services.topics.createTopic('slow', 1);
          const fast = await produce(router, 'fast', utf8(body));
          const slow = await produce(router, 'slow', utf8(`${body}\n`));
          expect(fast.status, body).toBe(slow.status);
          expect(fast.body.replaceAll('fast', 'T'), body).toBe(slow.body.replaceAll('slow', 'T'));
          expect(await stored(router, 'fast', 1), body).toEqual(await stored(router, 'slow', 1));
        },
      ),
      { numRuns: 1000 },
    );
    // Most generated bodies are plain: the comparison above ran, many times.
    expect(read).toBeGreaterThan(200);
  }, 120_000);
});
