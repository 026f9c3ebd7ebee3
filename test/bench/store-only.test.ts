/**
 * The bench's store-only produce (bench/bare-server.ts, measureStoreOnly in bench/baselines.ts): the
 * SDK producer's record batches, received, stored durably as one fresh file per request the way the
 * fs object store writes an object, and answered with one offset per record; the baseline the
 * produce headline is compared with. Offsets of several partitions and of concurrent requests, the
 * stored bytes under pool reuse, oversized, chunked and abandoned bodies, and the fsync switch.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BareHttp, measureStoreOnly, startBareHttp } from '../../bench/baselines.ts';
import { createBenchClient } from '../../bench/client.ts';
import { type ClientProcess, startClientProcess } from '../../bench/client-process.ts';
import { KiB, MiB } from '../../bench/stats.ts';
import {
  BATCHES_CONTENT_TYPE,
  encodeProduceBatches,
  PRODUCE_CONTENT_TYPE,
  splitProduceBatches,
} from '../../client/wire/binary.ts';

/** Every stored object's bytes (the temporary directory left out). */
function objects(dir: string): Buffer[] {
  const found: Buffer[] = [];
  for (const sub of readdirSync(dir)) {
    if (sub === '.tmp') continue;
    for (const name of readdirSync(join(dir, sub))) found.push(readFileSync(join(dir, sub, name)));
  }
  return found;
}

const temporary = (dir: string) => readdirSync(join(dir, '.tmp'));

/** A body of batches: `records` records of `recordBytes` filled with `fill`, per partition given. */
function batches(partitions: readonly number[], records: number, recordBytes: number, fill: number) {
  return encodeProduceBatches(
    partitions.map((partition) => ({
      partition,
      records: Array.from({ length: records }, () => ({
        key: null,
        headers: [],
        value: new Uint8Array(recordBytes).fill(fill),
        timestamp: 1,
      })),
    })),
  );
}

function post(url: string, topic: string, body: Uint8Array) {
  return fetch(`${url}/v1/topics/${topic}/records`, {
    method: 'POST',
    headers: { 'content-type': BATCHES_CONTENT_TYPE },
    body,
  });
}

const hasStrace = await new Promise<boolean>((resolve) =>
  execFile('strace', ['-V'], (error) => resolve(error === null)),
);

/** Polls `done` every 20 ms until it holds (10 s at most). */
async function waitFor(done: () => boolean, what: string): Promise<void> {
  const until = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The fsync/fdatasync calls of process `pid` (all threads) while `during` runs. */
async function fsyncsDuring(pid: number, during: () => Promise<void>): Promise<number> {
  const traceDir = mkdtempSync(join(tmpdir(), 'strace-'));
  const out = join(traceDir, 'trace');
  const tracer = spawn('strace', ['-f', '-qq', '-e', 'trace=fsync,fdatasync', '-o', out, '-p', `${pid}`], {
    stdio: 'ignore',
  });
  // Traced once every thread of the process names a tracer (strace -f attaches to each).
  await waitFor(() => {
    const threads = readdirSync(`/proc/${pid}/task`);
    return threads.every((tid) => {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
      return !/^TracerPid:\s+0$/m.test(status);
    });
  }, 'strace to attach to every thread');
  try {
    await during();
  } finally {
    const exited = new Promise((resolve) => tracer.once('exit', resolve));
    tracer.kill('SIGINT');
    await exited;
  }
  const lines = readFileSync(out, 'utf8')
    .split('\n')
    .filter((line) => /\b(fsync|fdatasync)\(/.test(line));
  rmSync(traceDir, { recursive: true, force: true });
  return lines.length;
}

describe('the store-only produce', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'store-only-test-'));
  const dir = join(scratch, 'store');
  const plainDir = join(scratch, 'plain');
  let bare: BareHttp;
  let plain: BareHttp;

  beforeAll(async () => {
    [bare, plain] = await Promise.all([
      startBareHttp(dir, { fsync: true }),
      startBareHttp(plainDir, { fsync: false }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([bare?.close(), plain?.close()]);
    rmSync(scratch, { recursive: true, force: true });
  });

  it('stores each SDK request whole in a fresh file and answers one offset per record, per partition', async () => {
    const before = objects(dir).length;
    const producer = createBenchClient({ url: bare.url }).producer({ retry: { retries: 0 } });
    const messages = (count: number, partition: number) =>
      Array.from({ length: count }, (_, i) => ({ value: new Uint8Array(KiB).fill(i), partition }));
    const first = await producer.send({ topic: 'store', messages: messages(30, 0) });
    const second = await producer.send({ topic: 'store', messages: messages(20, 1) });
    const third = await producer.send({ topic: 'store', messages: messages(10, 0) });
    expect(first.map((r) => [r.partition, r.offset])).toEqual(messages(30, 0).map((_, i) => [0, i]));
    expect(second.map((r) => [r.partition, r.offset])).toEqual(messages(20, 1).map((_, i) => [1, i]));
    expect(third.map((r) => [r.partition, r.offset])).toEqual(messages(10, 0).map((_, i) => [0, 30 + i]));

    const after = objects(dir);
    expect(temporary(dir)).toEqual([]);
    expect(after).toHaveLength(before + 3);
    // Each object is a request's body as it came: its frames hold that request's records.
    const counts = after
      .slice(before)
      .map((bytes) => splitProduceBatches(bytes).map((f) => [f.partition, f.recordCount]));
    expect(counts.sort()).toEqual([[[0, 10]], [[0, 30]], [[1, 20]]].sort());
  });

  it('refuses a body it cannot split, or not of batches, and stores nothing', async () => {
    const before = objects(dir).length;
    const postAs = (contentType: string, body: Uint8Array) =>
      fetch(`${bare.url}/v1/topics/store/records`, {
        method: 'POST',
        headers: { 'content-type': contentType },
        body,
      });
    const garbage = await postAs(BATCHES_CONTENT_TYPE, new Uint8Array(40).fill(7));
    expect(garbage.status).toBe(400);
    expect(await garbage.text()).toMatch(/frame 0/);
    const compact = await postAs(PRODUCE_CONTENT_TYPE, new Uint8Array(40));
    expect(compact.status).toBe(415);
    expect(await compact.text()).toContain(BATCHES_CONTENT_TYPE);
    expect(objects(dir)).toHaveLength(before);
  });

  it('answers a request of several partitions, records interleaved, in the order of the sends', async () => {
    const producer = createBenchClient({ url: bare.url }).producer({ retry: { retries: 0 } });
    const partitions = [0, 1, 0, 2, 1, 0, 2];
    const answered = await producer.send({
      topic: 'interleaved',
      messages: partitions.map((partition, i) => ({ value: new Uint8Array(16).fill(i), partition })),
    });
    expect(answered.map((r) => [r.partition, r.offset])).toEqual([
      [0, 0],
      [1, 0],
      [0, 1],
      [2, 0],
      [1, 1],
      [0, 2],
      [2, 1],
    ]);
  });

  it('starts a fresh topic’s partitions at offset 0, as Streambed does', async () => {
    const producer = createBenchClient({ url: bare.url }).producer({ retry: { retries: 0 } });
    const messages = Array.from({ length: 5 }, () => ({ value: new Uint8Array(8), partition: 0 }));
    await producer.send({ topic: 'fresh-a', messages });
    const second = await producer.send({ topic: 'fresh-b', messages });
    expect(second.map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
  });

  it('gives concurrent requests to one partition distinct, contiguous offsets', async () => {
    const topic = 'concurrent';
    const answers = await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const response = await post(bare.url, topic, batches([7], 10, 64, i));
        expect(response.status).toBe(200);
        return ((await response.json()) as { offsets: { partition: number; offset: number }[] }).offsets;
      }),
    );
    for (const offsets of answers) {
      expect(offsets).toHaveLength(10);
      // One request's records are consecutive.
      expect(offsets.map((o) => o.offset - (offsets[0]?.offset ?? 0))).toEqual([
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
      ]);
    }
    const all = answers
      .flat()
      .map((o) => o.offset)
      .sort((a, b) => a - b);
    expect(new Set(all).size).toBe(120);
    expect(all[119]! - all[0]!).toBe(119);
  });

  it('stores each of many concurrent requests’ bytes exactly, past the pool’s four buffers', async () => {
    const before = new Set(objects(plainDir).map((b) => b.toString('base64')));
    // Bodies of different sizes and bytes, 24 in flight: pooled buffers are reused by the next ones.
    const bodies = Array.from({ length: 24 }, (_, i) => batches([i % 3], 8 + i, 8 * KiB, i + 1));
    const statuses = await Promise.all(
      bodies.map(async (body) => (await post(plain.url, 'bytes', body)).status),
    );
    expect(statuses).toEqual(bodies.map(() => 200));
    const stored = objects(plainDir).filter((b) => !before.has(b.toString('base64')));
    const key = (b: Uint8Array) => Buffer.from(b).toString('base64');
    expect(stored.map(key).sort()).toEqual(bodies.map(key).sort());
    expect(temporary(plainDir)).toEqual([]);
  });

  it('stores a 4 MiB body and refuses one above 8 MiB with 413, storing nothing for it', async () => {
    const before = objects(plainDir).length;
    const large = batches([0], 4, MiB, 9);
    expect(large.byteLength).toBeGreaterThan(4 * MiB);
    const ok = await post(plain.url, 'large', large);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { offsets: unknown[] }).offsets).toHaveLength(4);
    const tooLarge = await post(plain.url, 'large', batches([0], 9, MiB, 3));
    expect(tooLarge.status).toBe(413);
    await tooLarge.text();
    const after = objects(plainDir);
    expect(after).toHaveLength(before + 1);
    expect(after.some((b) => b.equals(large))).toBe(true);
    // Still serving.
    expect((await post(plain.url, 'large', batches([0], 1, 10, 1))).status).toBe(200);
  }, 30_000);

  it('stores a chunked body (no Content-Length) and refuses a chunked one above 8 MiB, still serving', async () => {
    const { hostname, port } = new URL(plain.url);
    const chunked = (body: Uint8Array) =>
      new Promise<number>((resolve, reject) => {
        const request = httpRequest({
          host: hostname,
          port,
          method: 'POST',
          path: '/v1/topics/chunked/records',
          headers: { 'content-type': BATCHES_CONTENT_TYPE, 'transfer-encoding': 'chunked' },
        });
        request.on('response', (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        request.on('error', reject);
        for (let at = 0; at < body.byteLength; at += 256 * KiB)
          request.write(body.subarray(at, at + 256 * KiB));
        request.end();
      });
    const before = objects(plainDir).length;
    const small = batches([1], 8, 4 * KiB, 11);
    expect(await chunked(small)).toBe(200);
    expect(objects(plainDir).some((b) => b.equals(small))).toBe(true);
    expect(await chunked(batches([1], 9, MiB, 12))).toBe(413);
    expect(objects(plainDir)).toHaveLength(before + 1);
    expect((await post(plain.url, 'chunked', small)).status).toBe(200);
  }, 30_000);

  it('stores nothing for a body the client abandons half way and keeps serving', async () => {
    const before = objects(plainDir).length;
    const body = batches([0], 64, 8 * KiB, 5);
    const { hostname, port } = new URL(plain.url);
    await new Promise<void>((resolve) => {
      const request = httpRequest({
        host: hostname,
        port,
        method: 'POST',
        path: '/v1/topics/aborted/records',
        headers: { 'content-type': BATCHES_CONTENT_TYPE, 'content-length': body.byteLength },
      });
      request.on('error', () => resolve());
      request.write(body.subarray(0, body.byteLength >> 1), () => {
        request.destroy();
        resolve();
      });
    });
    // The next request is served, and it is the only one stored.
    const next = await post(plain.url, 'aborted', body);
    expect(next.status).toBe(200);
    expect(objects(plainDir)).toHaveLength(before + 1);
    expect(temporary(plainDir)).toEqual([]);
  });

  it.skipIf(!hasStrace)(
    'fsyncs the file and its directory with fsync, and never without',
    async () => {
      const requests = 4;
      const send = (url: string) => async () => {
        for (let i = 0; i < requests; i++)
          expect((await post(url, 'sync', batches([0], 2, 100, i))).status).toBe(200);
      };
      const pids = readdirSync('/proc').filter((p) => {
        try {
          return /^\d+$/.test(p) && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('bare-server.ts');
        } catch {
          return false;
        }
      });
      // Both bare servers run here: each is found by its store directory (argv[2]).
      const byStore = (store: string) =>
        Number(pids.find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(`${store}\0`)));
      const withFsync = await fsyncsDuring(byStore(dir), send(bare.url));
      const without = await fsyncsDuring(byStore(plainDir), send(plain.url));
      // The file's fsync and the directory's, per request.
      expect(withFsync).toBeGreaterThanOrEqual(2 * requests);
      expect(without).toBe(0);
    },
    30_000,
  );

  describe('measured from a client process', () => {
    let clients: ClientProcess;

    beforeAll(async () => {
      clients = await startClientProcess(bare.url);
    }, 60_000);

    afterAll(async () => {
      await clients?.close();
    });

    it('times the SDK producers against it with both processes’ CPU, after a warm-up', async () => {
      const before = objects(dir).length;
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
      expect(objects(dir).length - before).toBe(8 + 3 * 12);
    });

    it('reports a finite rate and CPU with fewer requests than lanes', async () => {
      const rate = await measureStoreOnly(plain, clients, {
        topic: 'few',
        recordBytes: KiB,
        recordsPerRequest: 16,
        requests: 2,
        concurrency: 4,
        payloadBytes: 2 * 16 * KiB,
      });
      expect(Number.isFinite(rate.mibPerSec)).toBe(true);
      expect(rate.mibPerSec).toBeGreaterThan(0);
      for (const value of [rate.cpu.serverMs, rate.cpu.clientMs, rate.cpu.ceilingMibPerSec, rate.cpu.busy])
        expect(Number.isFinite(value)).toBe(true);
    }, 60_000);
  });
});
