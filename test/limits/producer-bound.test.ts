/** The SDK producer never builds a request the router refuses for its size. */
import { describe, expect, it } from 'vitest';
import { Producer } from '../../client/producer.ts';
import { Transport } from '../../client/transport.ts';
import { MAX_MESSAGE_BYTES } from '../../client/wire/limits.ts';
import type { HttpResponse } from '../../lambdas/http/types.ts';
import { realRouter } from './support.ts';

describe('Producer against the router', () => {
  it('sends a record of max.message.bytes (the largest a topic allows) without a 413', async () => {
    // Prepare: a topic at the largest max.message.bytes; a fetch that hands requests to the router
    const { router, services } = await realRouter();
    await services.topics.createTopic('big', 1, { 'max.message.bytes': MAX_MESSAGE_BYTES });
    const statuses: number[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const url = new URL(String(input));
      const response: HttpResponse = await router({
        method: init?.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: Object.fromEntries(
          Object.entries((init?.headers ?? {}) as Record<string, string>).map(([n, v]) => [
            n.toLowerCase(),
            v,
          ]),
        ),
        body: new Uint8Array(init?.body as Uint8Array),
      });
      statuses.push(response.status);
      return new Response(response.body as string | Uint8Array<ArrayBuffer>, {
        status: response.status,
        headers: response.headers,
      });
    };
    const producer = new Producer<Uint8Array>(new Transport({ url: 'http://streambed.test', fetch }), {
      lingerMs: 0,
    });

    // Act
    const sent = producer.send({ topic: 'big', messages: [{ value: new Uint8Array(MAX_MESSAGE_BYTES) }] });

    // Assess
    await expect(sent).resolves.toMatchObject([{ topic: 'big', partition: 0, offset: 0 }]);
    expect(statuses).toEqual([200]);
  });
});
