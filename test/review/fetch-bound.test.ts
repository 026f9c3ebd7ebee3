/** A JSON fetch returns every record a topic accepted, within one Lambda response. */
import { describe, expect, it } from 'vitest';
import { realRouter } from './support.ts';

describe('JSON fetch of a record within max.message.bytes', () => {
  it('returns a record whose header name is control characters (escaped twice in the document)', async () => {
    // Prepare: the default max.message.bytes (1 MiB); a 900,000-byte header name of U+0001, which
    // costs 7 bytes each in the result document even when values go as base64
    const { router, services } = await realRouter();
    await services.topics.createTopic('orders', 1);
    await services.log.produce({
      topic: 'orders',
      records: [
        { key: null, value: new Uint8Array([1]), headers: [{ key: '\u0001'.repeat(900_000), value: null }] },
      ],
    });

    // Act
    const response = await router({
      method: 'GET',
      path: '/v1/topics/orders/partitions/0/records',
      query: new URLSearchParams('offset=0'),
      headers: {},
      body: new Uint8Array(0),
    });

    // Assess
    expect(response.status).toBe(200);
  });
});
