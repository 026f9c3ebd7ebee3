/**
 * Binary fetches on the embedded backend read objects into reused buffers (router.ts, fetch.ts): a
 * buffer goes back to its pool only once the response that carries it has left (the local server calls
 * the response's `release` then), and a page copied out of several reads gives them back at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BytePool } from '../../client/wire/bytes.ts';
import { notFound } from '../../lambdas/adapters/object-rules.ts';
import { StreamError } from '../../lambdas/core/errors.ts';
import { toApiGatewayResult } from '../../lambdas/http/apigw.ts';
import { startHttpServer } from '../../lambdas/http/node-server.ts';
import type { ObjectStore } from '../../lambdas/ports/object-store.ts';
import { createEmbeddedBackend } from '../../lambdas/runtime/backends.ts';
import { createServices, type Services } from '../../lambdas/runtime/services.ts';
import { waitFor } from '../support/wait-for.ts';

describe('a response body with release', () => {
  it('is released only once the socket is done with it, not when the handler returns', async () => {
    // Larger than the kernel's socket buffers on loopback, so it cannot have left before the client reads.
    const total = 64 * 1024 * 1024;
    const body = new Uint8Array(total).fill(7);
    let received = 0;
    let receivedAtRelease: number | undefined;
    const server = await startHttpServer({
      port: 0,
      handler: async () => ({
        status: 200,
        headers: {},
        body,
        release: () => {
          receivedAtRelease = received;
        },
      }),
    });
    try {
      const socket: Socket = connect(Number(new URL(server.url).port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write('GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n');
      socket.pause();
      await waitFor(() => socket.readableLength > 0, 10_000, 'the first bytes of the response');
      expect(receivedAtRelease).toBeUndefined();
      socket.on('data', (chunk: Buffer) => {
        received += chunk.byteLength;
      });
      socket.resume();
      await new Promise((resolve) => socket.once('end', resolve));
      expect(received).toBeGreaterThan(total);
      // Released once the last bytes were handed to the kernel: most of the body had arrived by then.
      expect(receivedAtRelease).toBeGreaterThan(total - 32 * 1024 * 1024);
    } finally {
      await server.close();
    }
  });

  it('is released by the Lambda adapter once the body is encoded', () => {
    const body = new Uint8Array([1, 2, 3]);
    let encodedBeforeRelease: string | undefined;
    const result = toApiGatewayResult({
      status: 200,
      headers: {},
      body,
      release: () => {
        encodedBeforeRelease = Buffer.from(body).toString('base64');
        body.fill(0);
      },
    });
    expect(encodedBeforeRelease).toBe('AQID');
    expect(result.body).toBe('AQID');
  });
});

describe('a text body held as bytes (a JSON fetch page)', () => {
  it('reaches Lambda as the text it holds, not base64, and is released once encoded', () => {
    const body = new TextEncoder().encode('{"records":[{"value":"é\\n"}]}');
    let released = false;
    const result = toApiGatewayResult({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body,
      textBytes: true,
      release: () => {
        released = true;
        body.fill(0);
      },
    });
    expect(result.body).toBe('{"records":[{"value":"é\\n"}]}');
    expect(result.isBase64Encoded).toBeUndefined();
    expect(released).toBe(true);
  });
});

describe('fetchBatches with a buffer pool', () => {
  let dataDir: string;
  let services: Services;
  const record = (i: number) => ({ key: null, value: new Uint8Array(100).fill(i), headers: [] });

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'streambed-fetch-pool-'));
    services = createServices(createEmbeddedBackend({ dataDir, durability: 'none' }));
    await services.topics.createTopic('t', 1);
    // Two produce requests: two objects, so a page over both is copied out of two reads.
    await services.log.produce({ topic: 't', records: [record(1), record(2)] });
    await services.log.produce({ topic: 't', records: [record(3)] });
  });

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves one read without a copy and hands its buffer back on release', async () => {
    const pool = new BytePool(4, 1024 * 1024);
    const page = await services.log.fetchBatches(
      { topic: 't', partition: 0, offset: 0, maxBytes: 1 },
      { buffers: pool },
    );
    expect(page.nextOffset).toBe(2);
    expect(pool.idle).toBe(0);
    page.release();
    expect(pool.idle).toBe(1);
    // The same buffer is lent again: the next page is read into it.
    const next = await services.log.fetchBatches(
      { topic: 't', partition: 0, offset: 2, maxBytes: 1 },
      { buffers: pool },
    );
    expect(pool.idle).toBe(0);
    expect(next.nextOffset).toBe(3);
    next.release();
    next.release();
    expect(pool.idle).toBe(1);
  });

  it('gives the reads back at once when the page is a copy of several', async () => {
    const pool = new BytePool(4, 1024 * 1024);
    const page = await services.log.fetchBatches(
      { topic: 't', partition: 0, offset: 0, maxBytes: 1024 * 1024 },
      { buffers: pool },
    );
    expect(page.nextOffset).toBe(3);
    expect(pool.idle).toBe(2);
    const copy = Uint8Array.from(page.batches);
    page.release();
    expect(pool.idle).toBe(2);
    expect(page.batches).toEqual(copy);
  });
});

describe('a response body with release, at the edges of the local server', () => {
  it('is released when the handler answers after its timeout (the timeout answered instead)', async () => {
    let finish: (() => void) | undefined;
    let released = 0;
    const server = await startHttpServer({
      port: 0,
      handlerTimeoutMs: 50,
      handler: async () => {
        await new Promise<void>((resolve) => {
          finish = resolve;
        });
        return { status: 200, headers: {}, body: new Uint8Array(8), release: () => void released++ };
      },
    });
    try {
      const response = await fetch(`${server.url}/late`);
      expect(response.status).toBe(503);
      await response.arrayBuffer();
      finish?.();
      await waitFor(() => released === 1, 5_000, 'the late response released');
      expect(released).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('sends each pipelined response whole although a released body is overwritten', async () => {
    // Each release scribbles over its body, as a reused buffer would be: a byte that left after its
    // release would show up as 0xee on the client.
    const size = 8 * 1024 * 1024;
    let n = 0;
    const server = await startHttpServer({
      port: 0,
      handler: async () => {
        n += 1;
        const body = new Uint8Array(size).fill(n);
        return { status: 200, headers: {}, body, release: () => void body.fill(0xee) };
      },
    });
    try {
      const socket: Socket = connect(Number(new URL(server.url).port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      const request = 'GET / HTTP/1.1\r\nhost: x\r\n\r\n';
      socket.write(`${request}${request}GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`);
      socket.pause();
      await waitFor(() => n === 3, 10_000, 'the three handlers called');
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.resume();
      await new Promise((resolve) => socket.once('end', resolve));
      const all = Buffer.concat(chunks);
      expect(all.includes(0xee)).toBe(false);
      for (const fill of [1, 2, 3]) {
        const start = all.indexOf(Buffer.from([fill]));
        expect(all.subarray(start, start + size).every((byte) => byte === fill)).toBe(true);
      }
    } finally {
      await server.close();
    }
  });
});

describe('fetchBatches with a buffer pool, when a read fails', () => {
  it('gives back the buffers of the reads still running when another read of the page failed', async () => {
    // Prepare: two objects; reads of the first are held once they have their buffer, the second is gone
    const dataDir = mkdtempSync(join(tmpdir(), 'streambed-fetch-pool-'));
    try {
      const backend = createEmbeddedBackend({ dataDir, durability: 'none' });
      let openGate = () => {};
      const gate = new Promise<void>((resolve) => {
        openGate = resolve;
      });
      let started = 0;
      let returned = 0;
      let failing = false;
      const keys: string[] = [];
      const objects: ObjectStore = {
        put: (key, bytes) => {
          keys.push(key);
          return backend.objects.put(key, bytes);
        },
        delete: (list) => backend.objects.delete(list),
        list: (prefix, options) => backend.objects.list(prefix, options),
        async get(key, range, options) {
          if (!failing) return backend.objects.get(key, range, options);
          if (key === keys[1]) throw notFound(key);
          started += 1;
          const bytes = await backend.objects.get(key, range, options);
          await gate;
          returned += 1;
          return bytes;
        },
      };
      const services = createServices({ ...backend, objects });
      await services.topics.createTopic('t', 1);
      const record = { key: null, value: new Uint8Array(100).fill(1), headers: [] };
      await services.log.produce({ topic: 't', records: [record] });
      await services.log.produce({ topic: 't', records: [record] });
      const pool = new BytePool(4, 1024 * 1024);
      failing = true;
      // Act: a page over both objects, whose read of the second fails while the first is held
      const fetched = services.log
        .fetchBatches({ topic: 't', partition: 0, offset: 0, maxBytes: 1024 * 1024 }, { buffers: pool })
        .then(
          () => 'ok',
          (error: unknown) => error,
        );
      await waitFor(() => started > 0, 5_000, 'a read of the first object');
      openGate();
      const outcome = await fetched;
      await waitFor(() => returned === started, 5_000, 'every read of the first object done');
      // Assess: the page failed, and every buffer it took went back to the pool
      expect(outcome).toBeInstanceOf(StreamError);
      expect(pool.idle).toBe(started);
      await backend.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
