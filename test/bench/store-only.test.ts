/**
 * The bench's store-only produce (bench/bare-server.ts): the SDK producer's record batches, received,
 * stored durably as one fresh file per request the way the fs object store writes an object, and
 * answered with one offset per record; the baseline the produce headline is compared with.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BareHttp, measureStoreOnly, startBareHttp } from '../../bench/baselines.ts';
import { createBenchClient } from '../../bench/client.ts';
import { type ClientProcess, startClientProcess } from '../../bench/client-process.ts';
import { KiB } from '../../bench/stats.ts';
import { BATCHES_CONTENT_TYPE, PRODUCE_CONTENT_TYPE, splitProduceBatches } from '../../client/wire/binary.ts';

/** Every stored object, as [directory/name, bytes], and what is left in the temporary directory. */
function stored(dir: string): { objects: [string, Buffer][]; temporary: string[] } {
  const objects: [string, Buffer][] = [];
  for (const sub of readdirSync(dir)) {
    if (sub === '.tmp') continue;
    for (const name of readdirSync(join(dir, sub))) {
      objects.push([`${sub}/${name}`, readFileSync(join(dir, sub, name))]);
    }
  }
  return { objects, temporary: readdirSync(join(dir, '.tmp')) };
}

describe('the store-only produce', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'store-only-test-'));
  const dir = join(scratch, 'store');
  let bare: BareHttp;

  beforeAll(async () => {
    bare = await startBareHttp(dir, { fsync: true });
  }, 60_000);

  afterAll(async () => {
    await bare?.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('stores each SDK request whole in a fresh file and answers one offset per record, per partition', async () => {
    const before = stored(dir).objects.length;
    const producer = createBenchClient({ url: bare.url }).producer({ retry: { retries: 0 } });
    const messages = (count: number, partition: number) =>
      Array.from({ length: count }, (_, i) => ({ value: new Uint8Array(KiB).fill(i), partition }));
    const first = await producer.send({ topic: 'store', messages: messages(30, 0) });
    const second = await producer.send({ topic: 'store', messages: messages(20, 1) });
    const third = await producer.send({ topic: 'store', messages: messages(10, 0) });
    expect(first.map((r) => [r.partition, r.offset])).toEqual(messages(30, 0).map((_, i) => [0, i]));
    expect(second.map((r) => [r.partition, r.offset])).toEqual(messages(20, 1).map((_, i) => [1, i]));
    expect(third.map((r) => [r.partition, r.offset])).toEqual(messages(10, 0).map((_, i) => [0, 30 + i]));

    const { objects, temporary } = stored(dir);
    expect(temporary).toEqual([]);
    expect(objects).toHaveLength(before + 3);
    // Each object is a request's body as it came: its frames hold that request's records.
    const counts = objects
      .slice(before)
      .map(([, bytes]) => splitProduceBatches(bytes).map((f) => [f.partition, f.recordCount]));
    expect(counts.sort()).toEqual([[[0, 10]], [[0, 30]], [[1, 20]]].sort());
  });

  it('refuses a body it cannot split, or not of batches, and stores nothing', async () => {
    const before = stored(dir).objects.length;
    const post = (contentType: string, body: Uint8Array) =>
      fetch(`${bare.url}/v1/topics/store/records`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body,
      });
    const garbage = await post(BATCHES_CONTENT_TYPE, new Uint8Array(40).fill(7));
    expect(garbage.status).toBe(400);
    expect(await garbage.text()).toMatch(/frame 0/);
    const compact = await post(PRODUCE_CONTENT_TYPE, new Uint8Array(40));
    expect(compact.status).toBe(415);
    expect(await compact.text()).toContain(BATCHES_CONTENT_TYPE);
    expect(stored(dir).objects).toHaveLength(before);
  });

  describe('measured from a client process', () => {
    let clients: ClientProcess;

    beforeAll(async () => {
      clients = await startClientProcess(bare.url);
    }, 60_000);

    afterAll(async () => {
      await clients?.close();
    });

    it('times the SDK producers against it with both processes’ CPU, after a warm-up', async () => {
      const before = stored(dir).objects.length;
      const rate = await measureStoreOnly(bare, clients, {
        topic: 'measured',
        recordBytes: KiB,
        recordsPerRequest: 64,
        requests: 12,
        concurrency: 2,
        payloadBytes: 12 * 64 * KiB,
      });
      expect(rate.mibPerSec).toBeGreaterThan(0);
      expect(Number.isFinite(rate.mibPerSec)).toBe(true);
      expect(rate.cpu.serverMs).toBeGreaterThan(0);
      expect(rate.cpu.clientMs).toBeGreaterThan(0);
      // A warm-up pass (8 requests here) and three timed passes, every request stored.
      expect(stored(dir).objects.length - before).toBe(8 + 3 * 12);
    });
  });
});
