/**
 * The client that reads Streambed's fetches and the bare GETs they are compared with. Beside the
 * bench's own server it runs in a process of its own (bench/reader-process.ts), as a consumer would:
 * the bench process keeps everything its scenarios made, and its garbage collections in that heap
 * would be counted as the cost of reading. Against a server reached by --url it reads from the bench
 * process (`inProcessReader`), through the client that carries the token or the SigV4 signer.
 *
 * Either way the same functions read (`readPass`, `bareGetPass`), so the two differ only by where.
 */
import { fileURLToPath } from 'node:url';
import { type BareClient, bareClient, type TimedPass, timedPass } from './baselines.ts';
import { forkChild } from './child-link.ts';
import type { BenchClient, HttpCall } from './client.ts';
import { type CpuTime, cpuSince } from './cpu.ts';
import { collectGarbage } from './gc.ts';
import { type CpuProfile, type CpuProfiler, cpuProfiler } from './profiler.ts';

/** One read of a partition from offset 0 to its high watermark, one fetch at a time. */
export interface FetchPass {
  seconds: number;
  fetches: number;
  /** Each fetch's latency, ms. */
  latencies: number[];
  /** Each fetch as the HTTP API saw it (for metering). */
  calls: HttpCall[];
  /** CPU of the reading process during the pass. */
  cpu: CpuTime;
}

export interface ReadRequest {
  topic: string;
  partition: number;
  highWatermark: number;
  maxBytes: number;
  /** Start on a collected heap (bench/gc.ts), for a headline pass. */
  collect: boolean;
}

export interface BareGetRequest {
  concurrency: number;
  client: BareClient;
  collect: boolean;
}

/** One pass at a time (`read` refuses a second while one is under way). */
export interface Reader {
  read(request: ReadRequest): Promise<FetchPass>;
  /** GETs of each of `responseBytes` from the bare server at `url` (bench/baselines.ts). */
  bareGet(url: string, responseBytes: readonly number[], request: BareGetRequest): Promise<TimedPass>;
  /** CPU-profiles the reading process (`--profile`). */
  profiler: CpuProfiler;
  close(): Promise<void>;
}

/** What the bench process asks the reading process (bench/reader-process.ts). */
export type ReaderCall =
  | ({ op: 'read'; url: string } & ReadRequest)
  | ({ op: 'bareGet'; url: string; responseBytes: readonly number[] } & BareGetRequest)
  | { op: 'profileStart'; intervalUs?: number }
  | { op: 'profileStop' };

/** Clients with a pass under way: their call log is the pass's. */
const reading = new WeakSet<BenchClient>();

/**
 * Reads `request`'s partition through `client` (binary fetch, as the SDK consumer reads). One pass
 * per client at a time: a pass's calls are what the client logs during it, and concurrent passes
 * would time each other anyway.
 */
export async function readPass(client: BenchClient, request: ReadRequest): Promise<FetchPass> {
  if (reading.has(client)) throw new Error('a reader reads one pass at a time: another is under way');
  reading.add(client);
  try {
    return await timedRead(client, request);
  } finally {
    reading.delete(client);
  }
}

async function timedRead(client: BenchClient, request: ReadRequest): Promise<FetchPass> {
  const { topic, partition, highWatermark, maxBytes } = request;
  const where = `${topic}/${partition}`;
  const latencies: number[] = [];
  let offset = 0;
  client.calls.reset();
  if (request.collect) collectGarbage();
  const cpuAt = process.cpuUsage();
  const start = performance.now();
  while (offset < highWatermark) {
    const result = await client.fetchBatches(topic, partition, offset, { maxBytes });
    latencies.push(result.latencyMs);
    if (result.nextOffset <= offset) throw new Error(`fetch of ${where} at ${offset} made no progress`);
    offset = result.nextOffset;
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = cpuSince(cpuAt);
  if (offset !== highWatermark) throw new Error(`read ${where} to ${offset}, expected ${highWatermark}`);
  return { seconds, fetches: latencies.length, latencies, calls: client.calls.reset(), cpu };
}

/** GETs of each of `responseBytes` in turn from the bare server, through `bare`. */
export function bareGetPass(
  bare: Pick<ReturnType<typeof bareClient>, 'get'>,
  responseBytes: readonly number[],
  { concurrency, client, collect }: BareGetRequest,
): Promise<TimedPass> {
  const get = (index: number) => bare.get(responseBytes[index] as number, client);
  return timedPass(responseBytes.length, concurrency, get, { collect });
}

/** Clients to the bare servers asked for so far, by URL. */
export function bareClients(): { of(url: string): ReturnType<typeof bareClient>; close(): void } {
  const clients = new Map<string, ReturnType<typeof bareClient>>();
  return {
    of(url) {
      let client = clients.get(url);
      if (client === undefined) {
        client = bareClient(url);
        clients.set(url, client);
      }
      return client;
    },
    close() {
      for (const client of clients.values()) client.close();
      clients.clear();
    },
  };
}

/** Reads from this process, through `client`. */
export function inProcessReader(client: BenchClient): Reader {
  const bare = bareClients();
  return {
    read: (request) => readPass(client, request),
    bareGet: (url, responseBytes, request) => bareGetPass(bare.of(url), responseBytes, request),
    profiler: cpuProfiler(),
    async close() {
      bare.close();
    },
  };
}

const READER_SCRIPT = fileURLToPath(new URL('./reader-process.ts', import.meta.url));
const START_TIMEOUT_MS = 30_000;

/** A reading process of its own, reading from the server at `url` (no token: the bench's own server). */
export async function startReader(url: string): Promise<Reader> {
  const link = forkChild<object, ReaderCall>(READER_SCRIPT, [], {
    name: 'reading process',
    startTimeoutMs: START_TIMEOUT_MS,
  });
  await link.ready;
  return {
    read: (request) => link.call({ op: 'read', url, ...request }) as Promise<FetchPass>,
    bareGet: (bareUrl, responseBytes, request) =>
      link.call({ op: 'bareGet', url: bareUrl, responseBytes, ...request }) as Promise<TimedPass>,
    profiler: {
      start: async (intervalUs) => {
        await link.call({ op: 'profileStart', intervalUs });
      },
      stop: () => link.call({ op: 'profileStop' }) as Promise<CpuProfile>,
    },
    close: () => link.close(),
  };
}
