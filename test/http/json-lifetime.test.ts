/**
 * The JSON path's pooled memory against the real local server: request bodies whose records are views
 * into them (plain bodies), bodies parsed into one pooled array (the others), and fetch pages written
 * into pooled buffers, all at once over many connections, with different bytes in every request so any
 * reuse of a buffer still in use would show in what is read back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryMetaStore } from '../../lambdas/adapters/memory-meta-store.ts';
import { MemoryObjectStore } from '../../lambdas/adapters/memory-object-store.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';

/**
 * `store` whose every call answers a turn of the event loop later, as a networked store would: other
 * requests are read meanwhile, so a body's buffer reused too early would show.
 */
function later<T extends object>(store: T): T {
  return new Proxy(store, {
    get(target, name, receiver) {
      const member = Reflect.get(target, name, receiver);
      if (typeof member !== 'function') return member;
      return async (...args: unknown[]) => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return member.apply(target, args);
      };
    },
  });
}

const servers: LocalServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

/** A value of `length` characters unique to (request, record): its request number repeated. */
const valueText = (request: number, record: number, length: number, escaped: boolean): string =>
  `${request}-${record}${escaped ? '"\\\n' : ''}é😀`.padEnd(length, String.fromCharCode(97 + (request % 26)));

describe('JSON produce and fetch through the local server, concurrently', () => {
  it('stores and returns every record byte for byte while buffers are reused', async () => {
    // Prepare
    const storage = {
      meta: later(new MemoryMetaStore()),
      objects: later(new MemoryObjectStore()),
      close: async () => {},
    };
    const server = await startLocalServer({ storage, port: 0, subscriptions: false });
    servers.push(server);
    const created = await fetch(`${server.url}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'mix', partitions: 4 }),
    });
    expect(created.status).toBe(201);
    const requests = 48;
    const perRequest = 20;
    const expected = new Map<string, string>();

    // Act: produce (plain and escaped bodies, keyed and not, with and without Idempotency-Key) while
    // fetching from the same partitions
    const produce = async (n: number): Promise<void> => {
      const escaped = n % 2 === 1;
      const records = Array.from({ length: perRequest }, (_, i) => {
        const key = `k${n}-${i}`;
        const value = valueText(n, i, 200 + ((n * 37 + i * 101) % 3000), escaped);
        expected.set(key, value);
        return { key, value, partition: (n + i) % 4 };
      });
      const body =
        n % 2 === 0 ? JSON.stringify({ records }) : JSON.stringify({ records }, null, 1).replace(/\n/g, ' ');
      const response = await fetch(`${server.url}/v1/topics/mix/records`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(n % 4 === 1 ? { 'idempotency-key': `req-${n}` } : {}),
        },
        body,
      });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    };
    const browse = async (partition: number): Promise<void> => {
      const response = await fetch(`${server.url}/v1/topics/mix/partitions/${partition}/records?offset=0`);
      expect(response.status).toBe(200);
      JSON.parse(await response.text());
    };
    await Promise.all(Array.from({ length: requests }, (_, n) => Promise.all([produce(n), browse(n % 4)])));

    // Assess: every record reads back as it was sent, whichever way it went in
    const seen = new Map<string, string>();
    for (let partition = 0; partition < 4; partition++) {
      let offset = 0;
      for (;;) {
        const response = await fetch(
          `${server.url}/v1/topics/mix/partitions/${partition}/records?offset=${offset}`,
        );
        const page = (await response.json()) as {
          records: { key: string; value: string }[];
          nextOffset: number;
          highWatermark: number;
        };
        for (const record of page.records) seen.set(record.key, record.value);
        if (page.nextOffset >= page.highWatermark) break;
        offset = page.nextOffset;
      }
    }
    expect(seen.size).toBe(expected.size);
    for (const [key, value] of expected) expect(seen.get(key), key).toBe(value);
  }, 60_000);
});
