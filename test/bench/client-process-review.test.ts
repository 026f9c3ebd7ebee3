/**
 * Edges of the bench's child links (bench/child-link.ts) and of reading a partition
 * (bench/client-process.ts) that the main tests leave out.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forkChild } from '../../bench/child-link.ts';
import { type BenchClient, createBenchClient } from '../../bench/client.ts';
import { inProcessClient, readPass } from '../../bench/client-process.ts';
import { produceBody } from '../../bench/scenarios/produce.ts';
import { KiB } from '../../bench/stats.ts';
import { type LocalServer, startLocalServer } from '../../lambdas/runtime/local-server.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** `promise`, or a rejection naming `what` after `ms`. */
const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    promise,
    new Promise<T>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: still pending after ${ms} ms`)), ms),
    ),
  ]);

describe('the child link', () => {
  let scratch: string;
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'child-link-review-'));
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('closed twice at once, lets the child stop itself rather than killing it', async () => {
    const marker = join(scratch, 'cleaned');
    const link = forkChild<{ pid: number }, null>(fixture('slow-exit-child.ts'), [marker], {
      name: 'slow child',
      startTimeoutMs: 20_000,
    });
    const { pid } = await link.ready;
    await Promise.all([link.close(), link.close()]);
    expect(alive(pid)).toBe(false);
    // The first close disconnected and waits for the child's own exit; the second SIGKILLs it.
    expect(existsSync(marker)).toBe(true);
  }, 30_000);

  it('fails a pending call when the child’s channel closes, though the child lives on', async () => {
    const link = forkChild<{ pid: number }, null>(fixture('drop-channel-child.ts'), [], {
      name: 'dropping child',
      startTimeoutMs: 20_000,
    });
    const { pid } = await link.ready;
    try {
      await expect(within(link.call(null), 3_000, 'the call')).rejects.toThrow(/dropping child/);
    } finally {
      await link.close();
    }
    expect(alive(pid)).toBe(false);
  }, 30_000);
});

/** A client whose every fetch of `partition` answers `nextOffset` as given. */
function fakeClient(nextOffset: (offset: number) => number): BenchClient {
  return {
    calls: { reset: () => [] },
    fetchBatches: async (_topic: string, _partition: number, offset: number) => ({
      latencyMs: 1,
      nextOffset: nextOffset(offset),
    }),
  } as unknown as BenchClient;
}

describe('readPass', () => {
  it('names the partition whose fetch made no progress', async () => {
    const client = fakeClient((offset) => offset);
    await expect(
      readPass(client, { topic: 'events', partition: 3, highWatermark: 10, maxBytes: KiB, collect: false }),
    ).rejects.toThrow(/partition 3|events[-/:]3/);
  });

  it('names the partition read past its high watermark', async () => {
    const client = fakeClient((offset) => offset + 7);
    await expect(
      readPass(client, { topic: 'events', partition: 3, highWatermark: 10, maxBytes: KiB, collect: false }),
    ).rejects.toThrow(/partition 3|events[-/:]3/);
  });
});

describe('reads through one reader at once', () => {
  let server: LocalServer;
  let client: BenchClient;
  const perRequest = 40;
  const requests = 4;

  beforeAll(async () => {
    server = await startLocalServer({ port: 0, memory: true });
    client = createBenchClient({ url: server.url });
    await client.createTopic('a', 1);
    await client.createTopic('b', 1);
    const body = produceBody(KiB, perRequest, 0);
    for (let i = 0; i < requests; i++) {
      await client.produce('a', body);
      await client.produce('b', body);
    }
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it('each pass counts its own fetches’ calls: a second pass at once is refused', async () => {
    const reader = inProcessClient(createBenchClient({ url: server.url }));
    const request = {
      partition: 0,
      highWatermark: requests * perRequest,
      maxBytes: perRequest * KiB,
      collect: false,
    };
    const [a, b] = await Promise.allSettled([
      reader.read({ topic: 'a', ...request }),
      reader.read({ topic: 'b', ...request }),
    ]);
    await reader.close();
    if (a.status !== 'fulfilled') throw a.reason;
    expect(a.value.calls).toHaveLength(a.value.fetches);
    expect(b.status === 'rejected' && String(b.reason)).toMatch(/one pass at a time/);
    // Refused, it left the first pass's log alone; the reader reads on afterwards.
    const again = await reader.read({ topic: 'b', ...request });
    expect(again.calls).toHaveLength(again.fetches);
  });
});
