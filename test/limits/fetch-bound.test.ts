/**
 * A JSON fetch returns every record a topic accepted, within one Lambda response: header keys stay text
 * in every JSON form, so produce bounds them (MAX_HEADER_KEY_BYTES) rather than accept a record no JSON
 * fetch could return.
 */
import { describe, expect, it } from 'vitest';
import { realRouter } from './support.ts';

describe('JSON fetch of a record within max.message.bytes', () => {
  it('refuses at produce a record whose header name could not come back (control characters, escaped twice)', async () => {
    // Prepare: a 900,000-byte header name of U+0001 (within the default max.message.bytes), which would
    // cost 7 bytes each in a JSON fetch's result document even with the value as base64
    const { router, services } = await realRouter();
    await services.topics.createTopic('orders', 1);
    const produced = services.log.produce({
      topic: 'orders',
      records: [
        { key: null, value: new Uint8Array([1]), headers: [{ key: '\u0001'.repeat(900_000), value: null }] },
      ],
    });

    // Act + Assess: refused, nothing written
    await expect(produced).rejects.toMatchObject({
      code: 'RECORD_TOO_LARGE',
      message: expect.stringMatching(/header keys/),
    });
    const response = await router({
      method: 'GET',
      path: '/v1/topics/orders/partitions/0/records',
      query: new URLSearchParams('offset=0'),
      headers: {},
      body: new Uint8Array(0),
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(String(response.body))).toMatchObject({ records: [], highWatermark: 0 });
  });
});
