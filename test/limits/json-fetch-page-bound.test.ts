/**
 * A JSON fetch page is cut exactly where the Lambda result document would outgrow its bound, measured
 * independently (JSON.stringify of the parsed page's records, then of the result document).
 */
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { LAMBDA_RESPONSE_RESERVE_BYTES, MAX_LAMBDA_PAYLOAD_BYTES } from '../../client/wire/limits.ts';
import { toApiGatewayResult } from '../../lambdas/http/apigw.ts';
import { jsonStringContentBytes } from '../../lambdas/http/lambda-payload.ts';
import { createRouter } from '../../lambdas/http/router.ts';
import type { HttpResponse } from '../../lambdas/http/types.ts';
import { realRouter } from './support.ts';

const fetchRequest = {
  method: 'GET',
  path: '/v1/topics/t/partitions/0/records',
  query: new URLSearchParams('offset=0&max_bytes=8388608'),
  headers: {},
  body: new Uint8Array(0),
};

const documentBytes = (response: HttpResponse): number =>
  Buffer.byteLength(JSON.stringify(toApiGatewayResult(response)));

const bodyText = (response: HttpResponse): string =>
  typeof response.body === 'string' ? response.body : Buffer.from(response.body).toString('utf8');

/** Values that cost more in the document than their bytes, in every way text can. */
function valueText(
  i: number,
  size: number,
  pieces = ['"', '\\', '\n', '\u0001', 'é', '😀', '\ufeff', 'a', '\u2028', '/'],
): Uint8Array {
  const pattern = Array.from({ length: pieces.length }, (_, j) => pieces[(i + j * 3) % pieces.length]).join(
    '',
  );
  const text = `${i}${pattern.repeat(Math.ceil(size / Buffer.byteLength(pattern)))}`;
  const bytes = Buffer.from(text);
  // Some values are not UTF-8: they come back as valueBase64.
  if (i % 5 === 4) bytes[0] = 0xff;
  return bytes;
}

describe('JSON fetch page bound', () => {
  it('holds every record whose independent measure fits, and not one more, at every cut', async () => {
    // Prepare: records of escape-heavy, multi-byte and invalid UTF-8 values, some with headers
    const { services } = await realRouter();
    await services.topics.createTopic('t', 1);
    await services.log.produce({
      topic: 't',
      records: Array.from({ length: 12 }, (_, i) => ({
        key: i % 3 === 0 ? null : Buffer.from(i % 2 === 0 ? `k${i}` : `k"${i}\\`),
        // Every third value needs no escape: copied as it is.
        value:
          i % 3 === 2 ? valueText(i, 3000 + 17 * i, ['é', 'a', '😀', '\ufeff']) : valueText(i, 3000 + 17 * i),
        headers: i % 4 === 1 ? [{ key: 'h"\u0002', value: Buffer.from('v\\"') }] : [],
      })),
    });
    const full = createRouter({ topics: services.topics, log: services.log });
    const all = JSON.parse(bodyText(await full(fetchRequest))).records as unknown[];
    expect(all).toHaveLength(12);
    // What the first k records take in the document, the array's brackets aside.
    const cost = (k: number): number => jsonStringContentBytes(JSON.stringify(all.slice(0, k))) - 2;

    for (let k = 1; k <= 12; k++) {
      for (const delta of [-2, -1, 0, 1, 2]) {
        const budget = cost(k) + delta;
        const router = createRouter({
          topics: services.topics,
          log: services.log,
          maxPayloadBytes: budget + LAMBDA_RESPONSE_RESERVE_BYTES,
        });
        // Act
        const response = await router(fetchRequest);
        // Assess: as many records as fit by the independent measure (at least one)
        let expected = 0;
        while (expected < 12 && cost(expected + 1) <= budget) expected++;
        const page = JSON.parse(bodyText(response));
        // A first record that does not fit comes as base64 instead (records-json.ts): not this test's.
        if (expected > 0) expect(page.records, `k=${k} delta=${delta}`).toEqual(all.slice(0, expected));
        expect(documentBytes(response)).toBeLessThanOrEqual(budget + LAMBDA_RESPONSE_RESERVE_BYTES);
      }
    }
  });

  it('fills a page near the deployed bound and stays within it, as the Lambda result it becomes', async () => {
    // Prepare: ~9 MiB of values whose document cost is up to 6 bytes per byte
    const { router, services } = await realRouter();
    await services.topics.createTopic('t', 1, { 'max.message.bytes': 2_000_000 });
    for (let batch = 0; batch < 6; batch++) {
      await services.log.produce({
        topic: 't',
        records: Array.from({ length: 30 }, (_, i) => ({
          key: null,
          value: valueText(batch * 30 + i, 50_000 + 997 * i, ['\u0001', '\u0002', '"', 'é']),
          headers: [],
        })),
      });
    }
    // Act
    const response = await router(fetchRequest);
    // Assess: within the bound, and the next record would not have fitted
    expect(response.status).toBe(200);
    const page = JSON.parse(bodyText(response));
    const used = jsonStringContentBytes(JSON.stringify(page.records)) - 2;
    expect(used).toBeLessThanOrEqual(MAX_LAMBDA_PAYLOAD_BYTES - LAMBDA_RESPONSE_RESERVE_BYTES);
    expect(documentBytes(response)).toBeLessThanOrEqual(MAX_LAMBDA_PAYLOAD_BYTES);
    expect(response.bodyDocumentBytesAtMost).toBe(jsonStringContentBytes(bodyText(response)));
    const next = await router({
      ...fetchRequest,
      query: new URLSearchParams(`offset=${page.nextOffset}&max_bytes=8388608`),
    });
    const following = JSON.parse(bodyText(next)).records[0];
    const withNext = jsonStringContentBytes(JSON.stringify([...page.records, following])) - 2;
    expect(withNext).toBeGreaterThan(MAX_LAMBDA_PAYLOAD_BYTES - LAMBDA_RESPONSE_RESERVE_BYTES);
  });
});
