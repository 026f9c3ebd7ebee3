/** Successive JSON and binary fetches at the real bound: every record once, every document within it. */
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { BATCHES_CONTENT_TYPE, NEXT_OFFSET_HEADER } from '../../client/wire/binary.ts';
import { MAX_LAMBDA_PAYLOAD_BYTES, MAX_MESSAGE_BYTES } from '../../client/wire/limits.ts';
import { toApiGatewayResult } from '../../lambdas/http/apigw.ts';
import { realRouter } from './support.ts';

const fill = (n: number, byte: number) => new Uint8Array(n).fill(byte);

describe('fetch pages at the real bound', () => {
  for (const [encoding, accept] of [
    ['utf8', undefined],
    ['base64', undefined],
    ['utf8', BATCHES_CONTENT_TYPE],
  ] as const) {
    it(`returns each record once (${encoding}${accept ? ', binary' : ''})`, async () => {
      const { router, services } = await realRouter();
      await services.topics.createTopic('t', 1, { 'max.message.bytes': MAX_MESSAGE_BYTES });
      const values = [
        fill(1_500_000, 0x22),
        fill(1_000_000, 0x01),
        fill(3_000_000, 0xff),
        fill(10, 0x41),
        fill(MAX_MESSAGE_BYTES - 10, 0x5c),
        fill(2_000_000, 0x0a),
        fill(1_200_000, 0x22),
      ];
      for (const value of values) {
        await services.log.produce({
          topic: 't',
          records: [{ key: fill(5, 0x22), value, headers: [{ key: '"\u0001', value: fill(3, 0x01) }] }],
        });
      }
      const seen: number[] = [];
      for (let offset = 0, rounds = 0; offset < values.length && rounds < 20; rounds++) {
        const response = await router({
          method: 'GET',
          path: '/v1/topics/t/partitions/0/records',
          query: new URLSearchParams(`offset=${offset}&max_bytes=99999999&encoding=${encoding}`),
          headers: { 'x-request-id': '\\'.repeat(128), ...(accept ? { accept } : {}) },
          body: new Uint8Array(0),
        });
        const result = toApiGatewayResult(response);
        expect(result.statusCode).toBe(200);
        expect(Buffer.byteLength(JSON.stringify(result))).toBeLessThanOrEqual(MAX_LAMBDA_PAYLOAD_BYTES);
        if (accept) {
          const next = Number(response.headers[NEXT_OFFSET_HEADER]);
          expect(next).toBeGreaterThan(offset);
          for (let o = offset; o < next; o++) seen.push(o);
          offset = next;
        } else {
          const page = JSON.parse(response.body as string);
          for (const record of page.records) seen.push(record.offset);
          expect(page.records.length).toBeGreaterThan(0);
          offset = page.nextOffset;
        }
      }
      expect(seen).toEqual(values.map((_, i) => i));
    });
  }
});
