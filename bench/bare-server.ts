/**
 * The bare transport baseline's server: node:http and nothing else, in a process of its own (forked by
 * bench/baselines.ts), so that it shares no event loop, heap or RSS sampler with the Streambed server.
 *
 * A POST's body is counted as it arrives and dropped (no copy, no allocation of ours); the answer is a
 * few bytes. A GET `/?bytes=N` is answered with the first N bytes of one buffer allocated at start.
 * What is left is what node:http and the loopback cost on this machine.
 *
 * Beside it, the store-only produce: a POST of record batches to `/v1/topics/{t}/records` (what the
 * SDK producer sends when every record names its partition) is received whole, its framing split (no
 * CRC, no record walked), its body written into a fresh file as the fs object store writes an object
 * (with the file's and the directory's fsyncs when asked: argv[3] `fsync`), and answered with one
 * offset per record, counted per partition of each topic. No metadata, no idempotency, no object
 * format: what a server that stores each produce request as a new file and answers the SDK spends at
 * the least.
 *
 * argv[2] is the directory the store-only produce writes into. Each call over the IPC channel
 * (bench/child-link.ts) is answered with the process's CPU time so far, its main thread's too
 * (bench/cpu.ts ownCpu).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BATCHES_CONTENT_TYPE, splitProduceBatches } from '../client/wire/binary.ts';
import { BytePool } from '../client/wire/bytes.ts';
import { readBody } from '../lambdas/http/node-server.ts';
import { tuneServerHeap } from '../lambdas/runtime/heap-tuning.ts';
import { answerCalls, sendToParent } from './child-link.ts';
import { ownCpu } from './cpu.ts';
import { writeLikeFsStore } from './scenarios/raw-fs.ts';

/** Largest GET answered: above the largest fetch response (a whole 4 MiB batch). */
const BARE_MAX_BYTES = 8 * 1024 * 1024;
/** The route the SDK producer posts a topic's records to. */
const PRODUCE_PATH = /^\/v1\/topics\/([^/]+)\/records$/;
/** Largest produce body stored. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Object directories, as the fs object store spreads its objects. */
const DIRECTORIES = 256;

function answer(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  response.end(body);
}

/** The store-only produce of the module comment, into `dir`. */
function storeOnly(dir: string, fsync: boolean) {
  const temp = join(dir, '.tmp');
  mkdirSync(temp, { recursive: true });
  for (let d = 0; d < DIRECTORIES; d++)
    mkdirSync(join(dir, d.toString(16).padStart(2, '0')), { recursive: true });
  // Next offset by topic, then partition: a fresh topic's partitions start at 0, as in Streambed.
  const nextOffsets = new Map<string, Map<number, number>>();
  let stored = 0;
  // Bodies received into reused buffers, as the local server receives them (fresh megabytes are
  // expensive on this VM: docs/performance.md).
  const bodies = new BytePool(4, MAX_BODY_BYTES);
  return async (topic: string, request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const read = await readBody(request, MAX_BODY_BYTES, bodies.acquire);
    if (read.kind !== 'body') {
      answer(response, 413, `{"code":"INVALID_REQUEST","message":"body ${read.kind}"}`);
      return;
    }
    const { body } = read;
    try {
      await storeBody(topic, body, response);
    } finally {
      bodies.release([body]);
    }
  };

  async function storeBody(topic: string, body: Uint8Array, response: ServerResponse): Promise<void> {
    let frames: ReturnType<typeof splitProduceBatches>;
    try {
      frames = splitProduceBatches(body);
    } catch (error) {
      answer(response, 400, JSON.stringify({ code: 'INVALID_REQUEST', message: String(error) }));
      return;
    }
    const name = randomUUID();
    const directory = (stored++ % DIRECTORIES).toString(16).padStart(2, '0');
    await writeLikeFsStore(join(temp, name), join(dir, directory, name), body, fsync);
    let partitions = nextOffsets.get(topic);
    if (partitions === undefined) {
      partitions = new Map();
      nextOffsets.set(topic, partitions);
    }
    const offsets: string[] = [];
    for (const { partition, recordCount } of frames) {
      const base = partitions.get(partition) ?? 0;
      for (let i = 0; i < recordCount; i++) offsets.push(`{"partition":${partition},"offset":${base + i}}`);
      partitions.set(partition, base + recordCount);
    }
    answer(response, 200, `{"offsets":[${offsets.join(',')}]}`);
  }
}

function main(): void {
  const [dir, durability] = process.argv.slice(2);
  // Like Streambed's server (lambdas/runtime/heap-tuning.ts): the store-only produce receives the
  // same bodies, and its comparison with Streambed should not turn on V8's old-generation limit.
  tuneServerHeap();
  if (dir === undefined)
    throw new Error('bare server: the store-only produce directory is missing (argv[2])');
  const produce = storeOnly(dir, durability === 'fsync');
  const held = Buffer.alloc(BARE_MAX_BYTES, 0x61);
  const server = createServer((request, response) => {
    const produceTo = request.method === 'POST' ? PRODUCE_PATH.exec(request.url ?? '')?.[1] : undefined;
    if (produceTo !== undefined) {
      if (request.headers['content-type'] !== BATCHES_CONTENT_TYPE) {
        answer(
          response,
          415,
          `{"code":"INVALID_REQUEST","message":"only ${BATCHES_CONTENT_TYPE} is stored"}`,
        );
        request.resume();
        return;
      }
      produce(produceTo, request, response).catch((error: unknown) => {
        answer(response, 500, JSON.stringify({ code: 'INTERNAL', message: String(error) }));
      });
      return;
    }
    if (request.method === 'POST') {
      let received = 0;
      request.on('data', (chunk: Buffer) => {
        received += chunk.byteLength;
      });
      request.on('end', () => answer(response, 200, `{"received":${received}}`));
      return;
    }
    const asked = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('bytes'));
    const bytes = Number.isInteger(asked) && asked >= 0 ? Math.min(asked, BARE_MAX_BYTES) : 0;
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes });
    response.end(held.subarray(0, bytes));
  });
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1', () => {
    sendToParent({ kind: 'ready', url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  });
  // The bench asks for this process's CPU time around a measurement (bench/cpu.ts).
  answerCalls(async () => ownCpu());
  // The bench process went away: stop.
  process.on('disconnect', () => {
    server.close();
    process.exit(0);
  });
}

main();
