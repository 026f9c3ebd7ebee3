/** The SDK producer against a stub transport: what it sends, and what it refuses before sending. */
import { describe, expect, it } from 'vitest';
import { Producer } from '../../client/producer.ts';
import { Transport } from '../../client/transport.ts';
import { decodeProduceBody } from '../../client/wire/binary.ts';

/** A fetch that answers every produce with offsets and keeps a copy of each body it was sent. */
function stubServer() {
  const bodies: Uint8Array[] = [];
  const fetch: typeof globalThis.fetch = async (_url, init) => {
    const body = new Uint8Array(init?.body as Uint8Array); // a copy, as the transport's contract asks
    bodies.push(body);
    const offsets = decodeProduceBody(body).map((_, offset) => ({ partition: 0, offset }));
    return new Response(JSON.stringify({ offsets }), { status: 200 });
  };
  return { bodies, transport: new Transport({ url: 'http://streambed.test', fetch }) };
}

describe('Producer', () => {
  it('sends each request with its own bytes while reusing its body buffer', async () => {
    // Prepare
    const { bodies, transport } = stubServer();
    const producer = new Producer<Uint8Array>(transport, { lingerMs: 0 });
    const value = (fill: number) => new Uint8Array(100_000).fill(fill);

    // Act: one request after another, so the second reuses the first's buffer
    for (const fill of [1, 2, 3])
      await producer.send({ topic: 't', messages: [{ value: value(fill), timestamp: 7 }] });

    // Assess
    expect(bodies.map((body) => decodeProduceBody(body)[0]?.value?.[0])).toEqual([1, 2, 3]);
    expect(decodeProduceBody(bodies[2] as Uint8Array)[0]?.timestamp).toBe(7);
  });

  it('refuses a timestamp that is not whole milliseconds, before sending anything', async () => {
    // Prepare
    const { bodies, transport } = stubServer();
    const producer = new Producer<string>(transport, { lingerMs: 0 });

    // Act + Assess
    for (const timestamp of [Number.NaN, 1.5, -2, Number.POSITIVE_INFINITY]) {
      await expect(
        producer.send({ topic: 't', messages: [{ value: 'v', timestamp }] }),
      ).rejects.toMatchObject({
        code: 'INVALID_REQUEST',
        message: expect.stringContaining(`timestamp ${timestamp}`),
      });
    }
    expect(bodies).toHaveLength(0);
  });
});
